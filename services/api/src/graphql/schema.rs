use super::GqlCaller;
use crate::auth::live::Change;
use crate::auth::Caller;
use crate::state::AppState;
use async_graphql::{Context, Guard, Object, Result, Schema, SimpleObject, Subscription};
use futures::{Stream, StreamExt as _};
use rc_auth::{authorize, perm, Granted, Permission};
use rc_domain::approvals::{Approval, Decide};
use rc_domain::audit::{AuditFilter, AuditPage};
use rc_domain::invitations::{CreateInvitation, CreatedInvitation, Invitation};
use rc_domain::login::User;
use rc_domain::members::{ChangeRole, Member};
use rc_domain::orgs::{CreateOrganization, Organization, UpdateOrganization};
use rc_domain::push::{PushConfig, PushSubscription, SubscribePush, UnsubscribePush};
use rc_domain::session_changes::SessionChange;
use rc_domain::sessions::{CreateSession, Session, SessionFilter};
use rc_domain::tasks::{CreateTask, ReorderQueue, Task};
use rc_domain::tokens::{ApiToken, CreateToken, CreatedToken};
use rc_domain::usage::{UsageBlock, UsageQuery, UsageRow};
use rc_domain::{Page, PageRequest};
use rc_errors::AppError;
use std::marker::PhantomData;
use uuid::Uuid;

pub type ApiSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Depth and complexity limits keep a single query from fanning out without bound.
pub fn build_schema() -> ApiSchema {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .extension(super::ErrorCodes)
        .limit_depth(12)
        .limit_complexity(1000)
        .finish()
}

/// Who is calling: authenticated with the request, or — over a WebSocket, which may outlive
/// the caller's rights — proved again now.
async fn caller<'a>(ctx: &'a Context<'_>) -> Result<(Caller, &'a AppState, &'a GqlCaller)> {
    let gql = ctx.data::<GqlCaller>()?;
    let state = ctx.data::<AppState>()?;
    let caller = match &gql.live {
        Some(live) => live.caller().await?,
        None => gql
            .caller
            .as_ref()
            .map_err(|e| AppError::new(e.code, e.message.clone()))?
            .clone(),
    };
    Ok((caller, state, gql))
}

/// The caller's permission `P` in the selected organisation.
async fn granted<P: Permission>(ctx: &Context<'_>) -> Result<Granted<P>> {
    let (caller, state, gql) = caller(ctx).await?;
    let actor = caller.actor(state, gql.org, gql.meta.clone()).await?;
    Ok(authorize::<P>(actor)?)
}

/// Guard naming the permission a resolver needs, in its signature.
pub struct Require<P: Permission>(PhantomData<P>);

impl<P: Permission> Require<P> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<P: Permission> Guard for Require<P> {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        granted::<P>(ctx).await.map(|_| ())
    }
}

fn page(cursor: Option<String>, limit: Option<i64>) -> PageRequest {
    PageRequest { cursor, limit }
}

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// The signed-in user and their organisations.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let (caller, state, _) = caller(ctx).await?;
        Ok(rc_domain::login::get_user(&state.domain.db, caller.user_id()).await?)
    }

    async fn organizations(&self, ctx: &Context<'_>) -> Result<Vec<Organization>> {
        let (caller, state, _) = caller(ctx).await?;
        let mut orgs = rc_domain::orgs::list_for_user(&state.domain.db, caller.user_id()).await?;
        if let Caller::Token(actor) = caller {
            orgs.retain(|o| o.id == actor.org_id);
        }
        Ok(orgs)
    }

    #[graphql(guard = "Require::<perm::OrgRead>::new()")]
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let g = granted::<perm::OrgRead>(ctx).await?;
        Ok(rc_domain::orgs::current(&ctx.data::<AppState>()?.domain.db, &g).await?)
    }

    #[graphql(guard = "Require::<perm::MembersRead>::new()")]
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<Member>> {
        let g = granted::<perm::MembersRead>(ctx).await?;
        Ok(rc_domain::members::list(&ctx.data::<AppState>()?.domain.db, &g).await?)
    }

    #[graphql(guard = "Require::<perm::MembersManage>::new()")]
    async fn invitations(&self, ctx: &Context<'_>) -> Result<Vec<Invitation>> {
        let g = granted::<perm::MembersManage>(ctx).await?;
        Ok(rc_domain::invitations::list(&ctx.data::<AppState>()?.domain.db, &g).await?)
    }

    #[graphql(guard = "Require::<perm::TokensManage>::new()")]
    async fn tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>> {
        let g = granted::<perm::TokensManage>(ctx).await?;
        Ok(rc_domain::tokens::list(&ctx.data::<AppState>()?.domain.db, &g).await?)
    }

    #[graphql(guard = "Require::<perm::SessionsRead>::new()")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        filter: Option<SessionFilter>,
        cursor: Option<String>,
        limit: Option<i64>,
    ) -> Result<Page<Session>> {
        let g = granted::<perm::SessionsRead>(ctx).await?;
        Ok(rc_domain::sessions::list(
            &ctx.data::<AppState>()?.domain,
            &g,
            &filter.unwrap_or_default(),
            &page(cursor, limit),
        )
        .await?)
    }

    #[graphql(guard = "Require::<perm::SessionsRead>::new()")]
    async fn session(&self, ctx: &Context<'_>, id: Uuid) -> Result<Session> {
        let g = granted::<perm::SessionsRead>(ctx).await?;
        Ok(rc_domain::sessions::get(&ctx.data::<AppState>()?.domain, &g, id).await?)
    }

    #[graphql(guard = "Require::<perm::TasksRead>::new()")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        session_id: Uuid,
        cursor: Option<String>,
        limit: Option<i64>,
    ) -> Result<Page<Task>> {
        let g = granted::<perm::TasksRead>(ctx).await?;
        Ok(rc_domain::tasks::list(
            &ctx.data::<AppState>()?.domain,
            &g,
            session_id,
            &page(cursor, limit),
        )
        .await?)
    }

    #[graphql(guard = "Require::<perm::TasksRead>::new()")]
    async fn task(&self, ctx: &Context<'_>, id: Uuid) -> Result<Task> {
        let g = granted::<perm::TasksRead>(ctx).await?;
        Ok(rc_domain::tasks::get(&ctx.data::<AppState>()?.domain, &g, id).await?)
    }

    /// Undecided permission requests on every session the caller can see.
    #[graphql(guard = "Require::<perm::SessionsRead>::new()")]
    async fn pending_approvals(&self, ctx: &Context<'_>) -> Result<Vec<Approval>> {
        let g = granted::<perm::SessionsRead>(ctx).await?;
        Ok(rc_domain::approvals::pending(&ctx.data::<AppState>()?.domain, &g).await?)
    }

    #[graphql(guard = "Require::<perm::SessionsRead>::new()")]
    async fn approval(&self, ctx: &Context<'_>, id: Uuid) -> Result<Approval> {
        let g = granted::<perm::SessionsRead>(ctx).await?;
        Ok(rc_domain::approvals::get(&ctx.data::<AppState>()?.domain, &g, id).await?)
    }

    /// The session's waiting tasks in the order they will run.
    #[graphql(guard = "Require::<perm::TasksRead>::new()")]
    async fn queue(&self, ctx: &Context<'_>, session_id: Uuid) -> Result<Vec<Task>> {
        let g = granted::<perm::TasksRead>(ctx).await?;
        Ok(rc_domain::tasks::queue(&ctx.data::<AppState>()?.domain, &g, session_id).await?)
    }

    /// The session's stored events after `afterSeq`, oldest first (limit 1-1000, default 200).
    #[graphql(guard = "Require::<perm::SessionsRead>::new()")]
    async fn session_events(
        &self,
        ctx: &Context<'_>,
        session_id: Uuid,
        #[graphql(default = 0)] after_seq: i64,
        limit: Option<i64>,
    ) -> Result<Vec<GqlSessionEvent>> {
        let g = granted::<perm::SessionsRead>(ctx).await?;
        let events = rc_domain::events::history(
            &ctx.data::<AppState>()?.domain,
            &g,
            session_id,
            after_seq,
            limit,
        )
        .await?;
        Ok(events.into_iter().map(GqlSessionEvent::from).collect())
    }

    #[graphql(guard = "Require::<perm::AuditRead>::new()")]
    async fn audit_logs(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        cursor: Option<String>,
        limit: Option<i64>,
    ) -> Result<AuditPage> {
        let g = granted::<perm::AuditRead>(ctx).await?;
        Ok(rc_domain::audit::list(
            &ctx.data::<AppState>()?.domain.db,
            &g,
            &filter.unwrap_or_default(),
            cursor.as_deref(),
            limit,
        )
        .await?)
    }

    #[graphql(guard = "Require::<perm::UsageRead>::new()")]
    async fn usage(&self, ctx: &Context<'_>, query: UsageQuery) -> Result<Vec<UsageRow>> {
        let g = granted::<perm::UsageRead>(ctx).await?;
        Ok(rc_domain::usage::report(&ctx.data::<AppState>()?.domain.db, &g, &query).await?)
    }

    /// Whether push notifications are on, and the VAPID public key to subscribe with.
    #[graphql(guard = "Require::<perm::OrgRead>::new()")]
    async fn push_config(&self, ctx: &Context<'_>) -> Result<PushConfig> {
        let g = granted::<perm::OrgRead>(ctx).await?;
        Ok(rc_domain::push::config(
            ctx.data::<AppState>()?.settings(),
            &g,
        )?)
    }

    /// The caller's push subscriptions in the selected organisation.
    #[graphql(guard = "Require::<perm::OrgRead>::new()")]
    async fn push_subscriptions(&self, ctx: &Context<'_>) -> Result<Vec<PushSubscription>> {
        let g = granted::<perm::OrgRead>(ctx).await?;
        Ok(rc_domain::push::list(&ctx.data::<AppState>()?.domain.db, &g).await?)
    }

    /// The caller's current rolling 5-hour usage block in the selected organisation.
    #[graphql(guard = "Require::<perm::UsageRead>::new()")]
    async fn usage_block(&self, ctx: &Context<'_>) -> Result<UsageBlock> {
        let g = granted::<perm::UsageRead>(ctx).await?;
        let db = &ctx.data::<AppState>()?.domain.db;
        Ok(rc_domain::usage::block(db, &g, chrono::Utc::now()).await?)
    }
}

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    /// Creates an organisation owned by the caller (browser sessions only).
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganization,
    ) -> Result<Organization> {
        let (caller, state, gql) = caller(ctx).await?;
        let Caller::Browser { user_id, .. } = caller else {
            return Err(AppError::forbidden(
                "API tokens are bound to one organization and cannot create others",
            )
            .into());
        };
        let user = rc_domain::login::get_user(&state.domain.db, user_id).await?;
        Ok(
            rc_domain::orgs::create(&state.domain.db, user_id, &user.email, &gql.meta, input)
                .await?,
        )
    }

    #[graphql(guard = "Require::<perm::OrgManage>::new()")]
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganization,
    ) -> Result<Organization> {
        let g = granted::<perm::OrgManage>(ctx).await?;
        Ok(rc_domain::orgs::update(&ctx.data::<AppState>()?.domain.db, &g, input).await?)
    }

    #[graphql(guard = "Require::<perm::MembersManage>::new()")]
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        user_id: Uuid,
        input: ChangeRole,
    ) -> Result<Member> {
        let g = granted::<perm::MembersManage>(ctx).await?;
        let state = ctx.data::<AppState>()?;
        let changed = rc_domain::members::change_role(&state.domain.db, &g, user_id, input).await;
        // Also when the change committed but reading the result back failed.
        state.rights_changed(Change::User(user_id));
        Ok(changed?)
    }

    #[graphql(guard = "Require::<perm::MembersManage>::new()")]
    async fn remove_member(&self, ctx: &Context<'_>, user_id: Uuid) -> Result<bool> {
        let g = granted::<perm::MembersManage>(ctx).await?;
        let state = ctx.data::<AppState>()?;
        let removed = rc_domain::members::remove(&state.domain.db, &g, user_id).await;
        state.rights_changed(Change::User(user_id));
        removed?;
        Ok(true)
    }

    #[graphql(guard = "Require::<perm::MembersManage>::new()")]
    async fn create_invitation(
        &self,
        ctx: &Context<'_>,
        input: CreateInvitation,
    ) -> Result<CreatedInvitation> {
        let g = granted::<perm::MembersManage>(ctx).await?;
        let state = ctx.data::<AppState>()?;
        let s = state.settings();
        Ok(rc_domain::invitations::create(
            &state.domain.db,
            &g,
            &s.api.public_url,
            s.auth.invitation_ttl_secs,
            input,
        )
        .await?)
    }

    #[graphql(guard = "Require::<perm::MembersManage>::new()")]
    async fn revoke_invitation(&self, ctx: &Context<'_>, id: Uuid) -> Result<bool> {
        let g = granted::<perm::MembersManage>(ctx).await?;
        rc_domain::invitations::revoke(&ctx.data::<AppState>()?.domain.db, &g, id).await?;
        Ok(true)
    }

    /// Joins the organisation of an invitation addressed to the caller's e-mail.
    async fn accept_invitation(&self, ctx: &Context<'_>, token: String) -> Result<Uuid> {
        let (caller, state, gql) = caller(ctx).await?;
        if matches!(caller, Caller::Token(_)) {
            return Err(AppError::forbidden(
                "invitations are accepted in the browser, not with an API token",
            )
            .into());
        }
        Ok(
            rc_domain::invitations::accept(&state.domain.db, caller.user_id(), &gql.meta, &token)
                .await?,
        )
    }

    /// Stores this browser's push subscription (replaces one with the same endpoint).
    #[graphql(guard = "Require::<perm::OrgRead>::new()")]
    async fn subscribe_push(
        &self,
        ctx: &Context<'_>,
        input: SubscribePush,
    ) -> Result<PushSubscription> {
        let g = granted::<perm::OrgRead>(ctx).await?;
        let state = ctx.data::<AppState>()?;
        Ok(rc_domain::push::subscribe(&state.domain.db, state.settings(), &g, input).await?)
    }

    /// Removes the caller's push subscription with this endpoint.
    #[graphql(guard = "Require::<perm::OrgRead>::new()")]
    async fn unsubscribe_push(&self, ctx: &Context<'_>, input: UnsubscribePush) -> Result<bool> {
        let g = granted::<perm::OrgRead>(ctx).await?;
        rc_domain::push::unsubscribe(&ctx.data::<AppState>()?.domain.db, &g, input).await?;
        Ok(true)
    }

    #[graphql(guard = "Require::<perm::TokensManage>::new()")]
    async fn create_token(&self, ctx: &Context<'_>, input: CreateToken) -> Result<CreatedToken> {
        let g = granted::<perm::TokensManage>(ctx).await?;
        Ok(rc_domain::tokens::create(&ctx.data::<AppState>()?.domain.db, &g, input).await?)
    }

    #[graphql(guard = "Require::<perm::TokensManage>::new()")]
    async fn revoke_token(&self, ctx: &Context<'_>, id: Uuid) -> Result<bool> {
        let g = granted::<perm::TokensManage>(ctx).await?;
        let state = ctx.data::<AppState>()?;
        let owner = rc_domain::tokens::revoke(&state.domain.db, &g, id).await?;
        state.rights_changed(Change::User(owner));
        Ok(true)
    }

    #[graphql(guard = "Require::<perm::SessionsWrite>::new()")]
    async fn create_session(&self, ctx: &Context<'_>, input: CreateSession) -> Result<Session> {
        let g = granted::<perm::SessionsWrite>(ctx).await?;
        Ok(rc_domain::sessions::create(&ctx.data::<AppState>()?.domain, &g, input).await?)
    }

    #[graphql(guard = "Require::<perm::SessionsWrite>::new()")]
    async fn stop_session(&self, ctx: &Context<'_>, id: Uuid) -> Result<Session> {
        let g = granted::<perm::SessionsWrite>(ctx).await?;
        Ok(rc_domain::sessions::stop(&ctx.data::<AppState>()?.domain, &g, id).await?)
    }

    /// Starts a stopped session again, resuming its workspace and conversation.
    #[graphql(guard = "Require::<perm::SessionsWrite>::new()")]
    async fn start_session(&self, ctx: &Context<'_>, id: Uuid) -> Result<Session> {
        let g = granted::<perm::SessionsWrite>(ctx).await?;
        Ok(rc_domain::sessions::start(&ctx.data::<AppState>()?.domain, &g, id).await?)
    }

    #[graphql(guard = "Require::<perm::SessionsWrite>::new()")]
    async fn delete_session(&self, ctx: &Context<'_>, id: Uuid) -> Result<bool> {
        let g = granted::<perm::SessionsWrite>(ctx).await?;
        let state = ctx.data::<AppState>()?;
        rc_domain::sessions::delete(&state.domain, &g, id).await?;
        // Its open feeds and terminals close now, not at their next periodic check.
        state.rights_changed(Change::Session(id));
        Ok(true)
    }

    /// Changes the model and/or permission mode of a session.
    #[graphql(guard = "Require::<perm::SessionsWrite>::new()")]
    async fn update_session(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: rc_domain::sessions::UpdateSession,
    ) -> Result<Session> {
        let g = granted::<perm::SessionsWrite>(ctx).await?;
        Ok(rc_domain::sessions::update(&ctx.data::<AppState>()?.domain, &g, id, input).await?)
    }

    /// `/clear`: a new Claude conversation in the same sandbox.
    #[graphql(guard = "Require::<perm::SessionsWrite>::new()")]
    async fn clear_session(&self, ctx: &Context<'_>, id: Uuid) -> Result<Session> {
        let g = granted::<perm::SessionsWrite>(ctx).await?;
        Ok(rc_domain::sessions::control(
            &ctx.data::<AppState>()?.domain,
            &g,
            id,
            rc_domain::sessions::SessionAction::Clear,
        )
        .await?)
    }

    /// Restarts the sandbox; the conversation resumes.
    #[graphql(guard = "Require::<perm::SessionsWrite>::new()")]
    async fn restart_session(&self, ctx: &Context<'_>, id: Uuid) -> Result<Session> {
        let g = granted::<perm::SessionsWrite>(ctx).await?;
        Ok(rc_domain::sessions::control(
            &ctx.data::<AppState>()?.domain,
            &g,
            id,
            rc_domain::sessions::SessionAction::Restart,
        )
        .await?)
    }

    #[graphql(guard = "Require::<perm::TasksWrite>::new()")]
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        session_id: Uuid,
        input: CreateTask,
    ) -> Result<Task> {
        let g = granted::<perm::TasksWrite>(ctx).await?;
        Ok(
            rc_domain::tasks::create(&ctx.data::<AppState>()?.domain, &g, session_id, input)
                .await?,
        )
    }

    #[graphql(guard = "Require::<perm::TasksWrite>::new()")]
    async fn cancel_task(&self, ctx: &Context<'_>, id: Uuid) -> Result<Task> {
        let g = granted::<perm::TasksWrite>(ctx).await?;
        Ok(rc_domain::tasks::cancel(&ctx.data::<AppState>()?.domain, &g, id).await?)
    }

    /// Decides a permission request; the first decision wins (later ones: CONFLICT).
    #[graphql(guard = "Require::<perm::TasksWrite>::new()")]
    async fn decide_approval(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: Decide,
    ) -> Result<Approval> {
        let g = granted::<perm::TasksWrite>(ctx).await?;
        Ok(rc_domain::approvals::decide(
            &ctx.data::<AppState>()?.domain,
            &g,
            id,
            input,
            rc_domain::approvals::Via::Graphql,
        )
        .await?)
    }

    /// A signed link that decides this pending request once, without a login, as the caller
    /// (valid `approvals.link_ttl_secs`, default 5 minutes). Same rights as deciding.
    #[graphql(guard = "Require::<perm::TasksWrite>::new()")]
    async fn create_approval_link(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<rc_domain::approval_links::ApprovalLink> {
        let g = granted::<perm::TasksWrite>(ctx).await?;
        Ok(rc_domain::approval_links::create(&ctx.data::<AppState>()?.domain, &g, id).await?)
    }

    /// Reorders the session's waiting tasks; `taskIds` lists every waiting task once.
    #[graphql(guard = "Require::<perm::TasksWrite>::new()")]
    async fn reorder_queue(
        &self,
        ctx: &Context<'_>,
        session_id: Uuid,
        input: ReorderQueue,
    ) -> Result<Vec<Task>> {
        let g = granted::<perm::TasksWrite>(ctx).await?;
        Ok(
            rc_domain::tasks::reorder(&ctx.data::<AppState>()?.domain, &g, session_id, input)
                .await?,
        )
    }
}

/// One session event. `event` is the same flat JSON object the REST history and the
/// WebSocket deliver (`seq`, `task_id`, `at`, `kind` and the kind's fields); the scalar
/// fields are copied out for filtering and ordering.
#[derive(SimpleObject)]
#[graphql(name = "SessionEvent")]
pub struct GqlSessionEvent {
    pub seq: i64,
    pub task_id: Option<Uuid>,
    pub at: chrono::DateTime<chrono::Utc>,
    pub kind: String,
    pub event: async_graphql::Json<serde_json::Value>,
}

impl From<rc_events::SessionEvent> for GqlSessionEvent {
    fn from(event: rc_events::SessionEvent) -> Self {
        Self {
            seq: event.seq,
            task_id: event.task_id,
            at: event.at,
            kind: event.body.kind().to_owned(),
            event: async_graphql::Json(serde_json::to_value(&event).unwrap_or_default()),
        }
    }
}

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// The session's events after `afterSeq`: the stored ones, then live ones as they
    /// happen — in order, each exactly once. On an error the subscription ends; subscribe
    /// again with the last `seq` received.
    #[graphql(guard = "Require::<perm::SessionsRead>::new()")]
    async fn session_events(
        &self,
        ctx: &Context<'_>,
        session_id: Uuid,
        #[graphql(default = 0)] after_seq: i64,
    ) -> Result<impl Stream<Item = Result<GqlSessionEvent>>> {
        let state = ctx.data::<AppState>()?;
        // Before authorising, so a change in between is not missed.
        let changes = state.rights.subscribe();
        let g = granted::<perm::SessionsRead>(ctx).await?;
        let domain = state.domain.clone();
        let events = rc_domain::events::follow(&domain, &g, session_id, after_seq)
            .await?
            .map(|item| {
                item.map(|shared| GqlSessionEvent::from(shared.event.clone()))
                    .map_err(async_graphql::Error::from)
            });
        // Over a WebSocket the subscription ends, with the reason, when the caller loses access.
        let live = ctx.data::<GqlCaller>()?.live.clone();
        let revoked = async move {
            let Some(live) = live else {
                return std::future::pending().await;
            };
            live.revoked::<perm::SessionsRead, _, _>(changes, Some(session_id), |granted| {
                let domain = &domain;
                async move {
                    rc_domain::sessions::get(domain, &granted, session_id)
                        .await
                        .map(|_| ())
                }
            })
            .await
        };
        Ok(until_revoked(events, revoked))
    }

    /// The caller's session list as it changes: `resync: true` first and whenever changes may
    /// have been missed (read the list again), then one item per change to a session the
    /// caller may list (members: their own).
    #[graphql(guard = "Require::<perm::SessionsRead>::new()")]
    async fn session_changes(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<SessionChange>>> {
        let state = ctx.data::<AppState>()?;
        // Before authorising, so a change in between is not missed.
        let changes = state.rights.subscribe();
        let g = granted::<perm::SessionsRead>(ctx).await?;
        let (scope, follows) =
            tokio::sync::watch::channel(rc_domain::session_changes::scope_of(&g));
        let list = rc_domain::session_changes::follow(&state.domain, &g, follows).map(Ok);
        Ok(until_revoked(
            list,
            Self::list_revoked(ctx, changes, scope)?,
        ))
    }
}

impl SubscriptionRoot {
    /// Resolves when the WebSocket's caller may no longer list sessions (never over HTTP),
    /// keeping `scope` to what their role allows meanwhile.
    fn list_revoked(
        ctx: &Context<'_>,
        changes: crate::auth::live::Changes,
        scope: tokio::sync::watch::Sender<Option<Uuid>>,
    ) -> Result<impl std::future::Future<Output = AppError> + Send + 'static> {
        let live = ctx.data::<GqlCaller>()?.live.clone();
        Ok(async move {
            match live {
                Some(live) => {
                    crate::routes::session_changes::list_revoked(&live, changes, &scope).await
                }
                None => std::future::pending().await,
            }
        })
    }
}

/// `events` until `revoked` resolves, then its error as the last item.
fn until_revoked<T>(
    events: impl Stream<Item = Result<T>> + Send + 'static,
    revoked: impl std::future::Future<Output = AppError> + Send + 'static,
) -> impl Stream<Item = Result<T>> + Send + 'static
where
    T: Send + 'static,
{
    let start = (Box::pin(events), Box::pin(revoked));
    futures::stream::unfold(Some(start), |state| async move {
        let (mut events, mut revoked) = state?;
        tokio::select! {
            biased;
            err = &mut revoked => Some((Err(err.into()), None)),
            item = events.next() => item.map(|item| (item, Some((events, revoked)))),
        }
    })
}
