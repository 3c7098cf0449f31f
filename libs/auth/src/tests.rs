use super::*;

fn actor(role: Role, credential: Credential) -> Actor {
    Actor {
        user_id: Uuid::nil(),
        email: "a@example.com".into(),
        org_id: Uuid::nil(),
        role,
        credential,
        meta: RequestMeta::default(),
    }
}

#[test]
fn viewer_reads_but_cannot_write_or_administer() {
    let v = actor(Role::Viewer, Credential::LoginSession);
    assert!(authorize::<perm::SessionsRead>(v.clone()).is_ok());
    assert!(authorize::<perm::SessionsWrite>(v.clone()).is_err());
    assert!(authorize::<perm::MembersManage>(v.clone()).is_err());
    assert!(!v.can_act_on(v.user_id));
}

#[test]
fn member_acts_on_own_resources_only() {
    let m = actor(Role::Member, Credential::LoginSession);
    assert!(authorize::<perm::SessionsWrite>(m.clone()).is_ok());
    assert!(authorize::<perm::AuditRead>(m.clone()).is_err());
    assert!(m.can_act_on(m.user_id));
    assert!(!m.can_act_on(Uuid::from_u128(7)));
    assert!(!m.sees_all_sessions());
}

#[test]
fn only_owner_manages_the_organisation() {
    assert!(authorize::<perm::OrgManage>(actor(Role::Owner, Credential::LoginSession)).is_ok());
    assert!(authorize::<perm::OrgManage>(actor(Role::Admin, Credential::LoginSession)).is_err());
}

#[test]
fn token_scopes_narrow_the_role() {
    let read_only = Credential::ApiToken {
        id: Uuid::nil(),
        prefix: "rct_x".into(),
        scopes: vec![Scope::Read],
    };
    let owner = actor(Role::Owner, read_only);
    assert!(authorize::<perm::SessionsRead>(owner.clone()).is_ok());
    let err = authorize::<perm::SessionsWrite>(owner).expect_err("read scope cannot write");
    assert!(err.message.contains("'write' scope"), "{}", err.message);
}

#[test]
fn secrets_are_random_and_hash_deterministically() {
    let a = secret::generate(secret::API_TOKEN_KIND);
    let b = secret::generate(secret::API_TOKEN_KIND);
    assert_ne!(a.value, b.value);
    assert!(a.value.starts_with("rct_") && a.value.len() > 40);
    assert_eq!(secret::hash(&a.value), a.hash);
    assert!(a.value.starts_with(&a.prefix));
}
