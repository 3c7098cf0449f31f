//! The hardened container a session runs in, as a pure function of the session's
//! configuration, so every flag is unit-tested without an engine.
//!
//! Hardening (environment.md §5, all verified there): every capability dropped,
//! no-new-privileges, read-only root with tmpfs only where the CLI writes, uid 1000,
//! pids/memory/CPU limits, **no network** (the model API is reached through the agent's
//! tunnel), no Docker socket, tini as PID 1. The workspace and the CLI's home are named
//! volumes so a conversation survives a container restart.

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use rc_domain::sessions::SessionLimits;
use std::collections::HashMap;

pub const LABEL_MANAGED: &str = "remote-claude.managed";
pub const LABEL_NODE: &str = "remote-claude.node";
pub const LABEL_SESSION: &str = "remote-claude.session";
pub const LABEL_ORG: &str = "remote-claude.org";
pub const LABEL_POOL: &str = "remote-claude.pool";

/// Where the agent's home and the workspace live inside the sandbox (deploy/sandbox/Dockerfile).
pub const HOME_DIR: &str = "/home/agent";
pub const WORKSPACE_DIR: &str = "/workspace";
/// Drop-in directory of Claude Code's managed settings: a root-owned tmpfs, so session-manager
/// (exec as root) writes the organisation's rules there and the agent's user cannot.
pub const MANAGED_SETTINGS_DIR: &str = "/etc/claude-code/managed-settings.d";
/// The organisation's rules, rendered from its policy.
pub const ORG_SETTINGS_FILE: &str = "/etc/claude-code/managed-settings.d/50-organization.json";
const SANDBOX_USER: &str = "1000:1000";

/// One sandbox to create. `name` names the container and prefixes its two volumes.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    pub name: String,
    pub image: String,
    pub limits: SessionLimits,
    pub node_id: String,
    /// Absent for warm-pool sandboxes, which get their session when claimed.
    pub session: Option<(uuid::Uuid, uuid::Uuid)>,
    pub tmp_size_mb: u32,
}

impl SandboxSpec {
    pub fn workspace_volume(&self) -> String {
        workspace_volume(&self.name)
    }

    pub fn home_volume(&self) -> String {
        home_volume(&self.name)
    }

    pub fn labels(&self) -> HashMap<String, String> {
        let mut labels = HashMap::from([
            (LABEL_MANAGED.to_owned(), "true".to_owned()),
            (LABEL_NODE.to_owned(), self.node_id.clone()),
        ]);
        match self.session {
            Some((session, org)) => {
                labels.insert(LABEL_SESSION.to_owned(), session.to_string());
                labels.insert(LABEL_ORG.to_owned(), org.to_string());
            }
            None => {
                labels.insert(LABEL_POOL.to_owned(), "true".to_owned());
            }
        }
        labels
    }

    pub fn container_body(&self) -> ContainerCreateBody {
        let memory = i64::from(self.limits.memory_mb) * 1024 * 1024;
        let volume = |source: String, target: &str| Mount {
            typ: Some(MountType::VOLUME),
            source: Some(source),
            target: Some(target.to_owned()),
            ..Default::default()
        };
        ContainerCreateBody {
            image: Some(self.image.clone()),
            user: Some(SANDBOX_USER.to_owned()),
            // The image's CMD is `sandbox-agent serve`; stated here so an image with another
            // CMD cannot start something else as the sandbox's main process.
            cmd: Some(vec!["sandbox-agent".into(), "serve".into()]),
            env: Some(vec![
                format!("HOME={HOME_DIR}"),
                "LANG=C.UTF-8".into(),
                "DISABLE_AUTOUPDATER=1".into(),
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1".into(),
            ]),
            working_dir: Some(WORKSPACE_DIR.to_owned()),
            labels: Some(self.labels()),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                init: Some(true),
                cap_drop: Some(vec!["ALL".into()]),
                security_opt: Some(vec!["no-new-privileges".into()]),
                readonly_rootfs: Some(true),
                // `exec` on /tmp: build tools and test runners the agent starts execute files
                // there. The home is a volume (see mounts), so it needs no tmpfs.
                tmpfs: Some(HashMap::from([
                    (
                        "/tmp".to_owned(),
                        format!("rw,nosuid,nodev,exec,size={}m", self.tmp_size_mb),
                    ),
                    (
                        MANAGED_SETTINGS_DIR.to_owned(),
                        "rw,nosuid,nodev,noexec,size=1m,uid=0,gid=0,mode=0755".to_owned(),
                    ),
                ])),
                pids_limit: Some(i64::from(self.limits.pids)),
                memory: Some(memory),
                // Equal to memory: no swap on top of the limit.
                memory_swap: Some(memory),
                nano_cpus: Some(i64::from(self.limits.cpu_millis) * 1_000_000),
                network_mode: Some("none".into()),
                mounts: Some(vec![
                    volume(self.workspace_volume(), WORKSPACE_DIR),
                    volume(self.home_volume(), HOME_DIR),
                ]),
                privileged: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// Claude Code managed settings for an organisation's policy: its allowed and denied tools
/// as permission rules. Managed rules beat every other settings source and flag
/// (claude-cli.md §6), so nothing inside the session can lift a deny.
pub fn managed_settings(policy: &rc_domain::orgs::OrgPolicy) -> serde_json::Value {
    serde_json::json!({
        "permissions": {
            "allow": policy.allowed_tools,
            "deny": policy.denied_tools,
        }
    })
}

pub fn workspace_volume(sandbox: &str) -> String {
    format!("{sandbox}-ws")
}

pub fn home_volume(sandbox: &str) -> String {
    format!("{sandbox}-home")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SandboxSpec {
        SandboxSpec {
            name: "rc-sbx-1".into(),
            image: "local/claude-sandbox:latest".into(),
            limits: SessionLimits {
                cpu_millis: 1500,
                memory_mb: 1024,
                pids: 256,
                idle_timeout_secs: 600,
                max_duration_secs: 3600,
            },
            node_id: "node-a".into(),
            session: Some((uuid::Uuid::nil(), uuid::Uuid::max())),
            tmp_size_mb: 128,
        }
    }

    #[test]
    fn the_container_is_hardened_and_limited() {
        let body = spec().container_body();
        let host = body.host_config.expect("host config");
        assert_eq!(body.user.as_deref(), Some("1000:1000"));
        assert_eq!(host.cap_drop, Some(vec!["ALL".to_owned()]));
        assert_eq!(
            host.security_opt,
            Some(vec!["no-new-privileges".to_owned()])
        );
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert_eq!(body.network_disabled, Some(true));
        assert_eq!(host.privileged, Some(false));
        assert_eq!(host.init, Some(true));
        assert_eq!(host.pids_limit, Some(256));
        assert_eq!(host.memory, Some(1024 * 1024 * 1024));
        assert_eq!(host.memory_swap, host.memory);
        assert_eq!(host.nano_cpus, Some(1_500_000_000));
        let mounts = host.mounts.expect("mounts");
        let targets: Vec<_> = mounts.iter().filter_map(|m| m.target.as_deref()).collect();
        assert_eq!(targets, ["/workspace", "/home/agent"]);
        assert!(
            mounts.iter().all(|m| m.typ == Some(MountType::VOLUME)
                && !m.source.as_deref().unwrap_or("").contains("docker.sock")),
            "only the two named volumes, never a bind mount: {mounts:?}"
        );
        assert!(host.binds.is_none(), "no bind mounts (no Docker socket)");
        assert!(host.tmpfs.expect("tmpfs")["/tmp"].contains("size=128m"));
    }

    #[test]
    fn labels_name_session_org_and_node_or_mark_the_pool() {
        let labels = spec().labels();
        assert_eq!(labels[LABEL_NODE], "node-a");
        assert_eq!(labels[LABEL_SESSION], uuid::Uuid::nil().to_string());
        assert_eq!(labels[LABEL_ORG], uuid::Uuid::max().to_string());
        let pooled = SandboxSpec {
            session: None,
            ..spec()
        }
        .labels();
        assert_eq!(pooled[LABEL_POOL], "true");
        assert!(!pooled.contains_key(LABEL_SESSION));
    }
}
