//! Which databases the launcher serves and which worker of a database's pool owns a sync:
//! decisions the launcher, the serving workers and every waking backend must agree on.

/// Whether `hubsync.database` lets the launcher serve `database`: empty means every database
/// that allows connections; otherwise a comma-separated list of names (spaces around a name
/// are ignored, names compare exactly, as Postgres stores them).
pub fn serves_database(setting: &str, database: &str) -> bool {
    let setting = setting.trim();
    setting.is_empty() || setting.split(',').any(|name| name.trim() == database)
}

/// The names `hubsync.database` lists, for databases the launcher reports it waits for.
pub fn named_databases(setting: &str) -> Vec<&str> {
    setting
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect()
}

/// The pool member (0-based) that serves `sync_id` in a pool of `pool_size` workers. Each
/// sync has exactly one owner, so its records keep their order; a pool of one serves all.
pub fn owner_of(sync_id: i32, pool_size: i32) -> i32 {
    sync_id.rem_euclid(pool_size.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_setting_serves_every_database() {
        assert!(serves_database("", "sales"));
        assert!(serves_database("  ", "postgres"));
        assert!(named_databases("").is_empty());
    }

    #[test]
    fn a_list_restricts_to_its_names_exactly() {
        assert!(serves_database("customer_data", "customer_data"));
        assert!(!serves_database("customer_data", "customer"));
        assert!(serves_database("a, b ,c", "b"));
        assert!(!serves_database("a,b", "B"));
        assert_eq!(named_databases("a, b ,,c"), vec!["a", "b", "c"]);
    }

    #[test]
    fn every_sync_has_exactly_one_owner() {
        for size in 1..5 {
            for id in -3..20 {
                let owners = (0..size).filter(|k| owner_of(id, size) == *k).count();
                assert_eq!(owners, 1, "sync {id} in a pool of {size}");
            }
        }
        assert_eq!(owner_of(7, 0), 0, "a pool of zero is treated as one");
        assert_eq!(owner_of(5, 2), 1);
    }
}
