//! This instance's node id: the configured one, or the host name made into one routing-key
//! word.

use rc_bus::messages::valid_node_id;

pub fn resolve(configured: &str) -> anyhow::Result<String> {
    if !configured.is_empty() {
        anyhow::ensure!(
            valid_node_id(configured),
            "session_manager.node_id: {configured:?} must be 1-63 letters, digits, '-' or '_'"
        );
        return Ok(configured.to_owned());
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default();
    let id: String = host
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    Ok(if id.is_empty() { "node".into() } else { id })
}

#[cfg(test)]
mod tests {
    #[test]
    fn configured_ids_are_checked_and_host_names_sanitised() {
        assert_eq!(super::resolve("sm-1").expect("valid"), "sm-1");
        assert!(super::resolve("a.b").is_err());
        let derived = super::resolve("").expect("derived");
        assert!(rc_bus::messages::valid_node_id(&derived), "{derived}");
    }
}
