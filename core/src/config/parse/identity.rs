//! The sync's name and the connection whose credentials it uses.

use super::endpoints::Ends;
use crate::config::scalars::{is_valid_name, Name};
use crate::config::walker::{Obj, Problems};

/// Name and connection of a sync.
pub(super) struct Identity {
    pub name: String,
    pub connection: String,
}

/// `name`, else `connection_name`, else `<object>_<table>`; the connection defaults to the name.
pub(super) fn read(root: &Obj, ends: &Ends, problems: &mut Problems) -> Option<Identity> {
    let name = root.get::<Name>("name", problems).map(|n| n.0);
    let connection = root.get::<Name>("connection_name", problems).map(|n| n.0);
    let name = name
        .or_else(|| connection.clone())
        .or_else(|| derived_name(ends, problems))?;
    Some(Identity {
        connection: connection.unwrap_or_else(|| name.clone()),
        name,
    })
}

/// `<object>_<table>` lower-cased, when both ends are known and the result is a valid name.
fn derived_name(ends: &Ends, problems: &mut Problems) -> Option<String> {
    let (remote, local) = (ends.remote.as_ref()?, ends.local.as_ref()?);
    let name = format!("{}_{}", remote.object, local.table).to_lowercase();
    if is_valid_name(&name) {
        return Some(name);
    }
    problems.invalid(
        "name",
        format!(
            "no name given, and '{name}' (object_table) is not a valid name; \
             give a \"name\" of letters, digits and underscores starting with a letter"
        ),
    );
    None
}
