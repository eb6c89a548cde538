//! `hubsync.capture()`: the AFTER ROW trigger that appends changes to `hubsync.outbox`.
//!
//! It runs on the hot path of users' writes, so it does no catalog reads beyond resolving
//! its columns, parses no JSON, and inserts through one plan prepared once per backend.
//! Its arguments (written by `install`) are: sync id, remote system, number of primary-key
//! columns, the primary-key columns, then the captured columns.
//!
//! It writes the outbox as the outbox's owner, so it trusts nothing the session chose: it
//! works only as an AFTER ROW trigger on its own sync's table (a copy attached elsewhere
//! raises), its outbox insert names every type and relation with its schema and runs as a
//! security-restricted operation, and the origin tag silences it only for roles that act
//! for the sync's owner.

use super::encode::{push_json_string, Column};
use super::wake;
use crate::error::raise;
use crate::{guc, privilege};
use pgrx::prelude::*;
use pgrx::spi::OwnedPreparedStatement;
use pgrx::{pg_sys, PgOid, PgSqlErrorCode};
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::ffi::CString;
use std::rc::Rc;

/// The trigger's arguments, decoded.
struct Spec {
    sync_id: i32,
    system: CString,
    /// The origin tag of the sync's own writes (`sync:<id>`).
    own_tag: CString,
    pk: Vec<String>,
    captured: Vec<String>,
}

impl Spec {
    fn parse(args: &[String]) -> Spec {
        let bad = || -> ! {
            raise(
                PgSqlErrorCode::ERRCODE_TRIGGERED_ACTION_EXCEPTION,
                "hubsync.capture() was installed with invalid arguments",
                "Recreate the sync's triggers with hubsync.alter_sync(name, '{}').",
            )
        };
        let sync_id = args
            .first()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| bad());
        let system = args
            .get(1)
            .and_then(|a| CString::new(a.as_str()).ok())
            .unwrap_or_else(|| bad());
        let npk: usize = args
            .get(2)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| bad());
        if args.len() < 3 + npk {
            bad();
        }
        Spec {
            sync_id,
            own_tag: super::origin::of_sync(sync_id),
            system,
            pk: args[3..3 + npk].to_vec(),
            captured: args[3 + npk..].to_vec(),
        }
    }
}

/// One outbox row about to be written.
struct Change {
    op: &'static str,
    pk: String,
    new: Option<String>,
    old: Option<String>,
}

#[pg_trigger]
fn capture<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, pgrx::PgTriggerError> {
    let data = trigger.trigger_data();
    let tupdesc = unsafe { (*data.tg_relation).rd_att };
    let resolved = resolved(trigger, tupdesc)?;
    let spec = &resolved.spec;
    if (guc::origin_is(&spec.own_tag) || guc::origin_is(&spec.system))
        && privilege::acts_for(resolved.owner)
    {
        return Ok(None);
    }
    let (pk, captured) = (&resolved.pk, &resolved.captured);
    let changes = match trigger.op()? {
        PgTriggerOperation::Insert => {
            vec![whole_row("I", pk, captured, data.tg_trigtuple, tupdesc)]
        }
        PgTriggerOperation::Delete => {
            vec![whole_row("D", pk, captured, data.tg_trigtuple, tupdesc)]
        }
        PgTriggerOperation::Update => {
            updated(pk, captured, data.tg_trigtuple, data.tg_newtuple, tupdesc)
        }
        PgTriggerOperation::Truncate => Vec::new(),
    };
    if !changes.is_empty() {
        // Provenance counts only where the tag does: for roles acting for the owner.
        let origin = guc::origin_sync().filter(|_| privilege::acts_for(resolved.owner));
        write_outbox(resolved.spec.sync_id, origin, &changes);
        wake::outbox_written(resolved.spec.sync_id);
    }
    Ok(None)
}

/// A trigger's arguments and columns, resolved against its table.
struct Resolved {
    spec: Spec,
    /// The role that owns the sync: only roles acting for it may silence capture.
    owner: pg_sys::Oid,
    pk: Vec<Column>,
    captured: Vec<Column>,
}

impl Resolved {
    /// Still valid for this tuple descriptor (the table was not altered under it).
    fn fits(&self, tupdesc: pg_sys::TupleDesc) -> bool {
        self.pk
            .iter()
            .chain(&self.captured)
            .all(|c| unsafe { c.fits(tupdesc) })
    }
}

thread_local! {
    /// Per backend, by trigger OID: what each row of that trigger needs, so the hot path
    /// reads no arguments and no catalog. Checked against the descriptor on every use.
    static RESOLVED: RefCell<HashMap<pg_sys::Oid, Rc<Resolved>>> = RefCell::new(HashMap::new());
}

fn resolved(
    trigger: &PgTrigger<'_>,
    tupdesc: pg_sys::TupleDesc,
) -> Result<Rc<Resolved>, pgrx::PgTriggerError> {
    let tgoid = trigger.trigger().tgoid;
    let cached = RESOLVED.with(|cache| cache.borrow().get(&tgoid).cloned());
    if let Some(resolved) = cached.filter(|r| r.fits(tupdesc)) {
        return Ok(resolved);
    }
    let spec = Spec::parse(&trigger.extra_args()?);
    let owner = installed_for(trigger, spec.sync_id)?;
    let resolved = Rc::new(Resolved {
        owner,
        pk: resolve_all(tupdesc, &spec.pk),
        captured: resolve_all(tupdesc, &spec.captured),
        spec,
    });
    RESOLVED.with(|cache| cache.borrow_mut().insert(tgoid, Rc::clone(&resolved)));
    Ok(resolved)
}

/// Checks that the trigger is the one `create_sync` installed: AFTER, FOR EACH ROW, on the
/// table of the sync its arguments name. Returns that sync's owner.
fn installed_for(
    trigger: &PgTrigger<'_>,
    sync_id: i32,
) -> Result<pg_sys::Oid, pgrx::PgTriggerError> {
    let forged = |why: String| -> ! {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("hubsync.capture() refuses to run: {why}"),
            "Only hubsync.create_sync() installs capture triggers; drop this trigger.",
        )
    };
    let after_row = matches!(trigger.when()?, PgTriggerWhen::After)
        && matches!(trigger.level(), PgTriggerLevel::Row);
    if !after_row {
        forged("it must be an AFTER ... FOR EACH ROW trigger".into());
    }
    let relation = trigger.relid()?;
    let sync = privilege::pinned(|| {
        Spi::get_two_with_args::<pg_sys::Oid, pg_sys::Oid>(
            "SELECT local_table::oid, owner::oid FROM hubsync.sync WHERE id = $1",
            &[sync_id.into()],
        )
    });
    match sync {
        Ok((Some(table), Some(owner))) if table == relation => Ok(owner),
        Ok((Some(_), Some(_))) => forged(format!(
            "sync {sync_id} does not sync table {}",
            trigger.table_name()?
        )),
        _ => forged(format!("sync {sync_id} does not exist")),
    }
}

fn resolve_all(tupdesc: pg_sys::TupleDesc, names: &[String]) -> Vec<Column> {
    names
        .iter()
        .map(|name| {
            unsafe { Column::resolve(tupdesc, name) }.unwrap_or_else(|| {
                raise(
                    PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                    format!("column \"{name}\" captured by hubsync no longer exists"),
                    "Update the sync's field_mappings with hubsync.alter_sync(), or drop the sync.",
                )
            })
        })
        .collect()
}

/// A whole-row change: an insert records the new row, a delete the old one.
fn whole_row(
    op: &'static str,
    pk: &[Column],
    cols: &[Column],
    tuple: pg_sys::HeapTuple,
    td: pg_sys::TupleDesc,
) -> Change {
    let values = Some(json_object(cols.iter(), tuple, td));
    let (new, old) = if op == "D" {
        (None, values)
    } else {
        (values, None)
    };
    Change {
        op,
        pk: json_array(pk, tuple, td),
        new,
        old,
    }
}

/// Only changed captured columns are recorded, with their old values; an update that
/// changes none records nothing. A changed primary key is a delete plus an insert.
fn updated(
    pk: &[Column],
    cols: &[Column],
    old: pg_sys::HeapTuple,
    new: pg_sys::HeapTuple,
    td: pg_sys::TupleDesc,
) -> Vec<Change> {
    let changed = |c: &&Column| unsafe { !c.same(c.datum(old, td), c.datum(new, td)) };
    if pk.iter().any(|c| changed(&c)) {
        return vec![
            whole_row("D", pk, cols, old, td),
            whole_row("I", pk, cols, new, td),
        ];
    }
    let diff: Vec<&Column> = cols.iter().filter(changed).collect();
    if diff.is_empty() {
        return Vec::new();
    }
    vec![Change {
        op: "U",
        pk: json_array(pk, new, td),
        new: Some(json_object(diff.iter().copied(), new, td)),
        old: Some(json_object(diff.iter().copied(), old, td)),
    }]
}

fn json_array(cols: &[Column], tuple: pg_sys::HeapTuple, td: pg_sys::TupleDesc) -> String {
    let mut out = String::from("[");
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        unsafe { c.write_json(&mut out, c.datum(tuple, td)) };
    }
    out.push(']');
    out
}

fn json_object<'c>(
    cols: impl Iterator<Item = &'c Column>,
    tuple: pg_sys::HeapTuple,
    td: pg_sys::TupleDesc,
) -> String {
    let mut out = String::from("{");
    for (i, c) in cols.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, &c.name);
        out.push(':');
        unsafe { c.write_json(&mut out, c.datum(tuple, td)) };
    }
    out.push('}');
    out
}

thread_local! {
    static INSERT_PLAN: OnceCell<(OwnedPreparedStatement, pg_sys::Oid)> = const { OnceCell::new() };
}

/// Every name schema-qualified: the plan is made under the session's `search_path`, where a
/// type of the same name in `pg_temp` would otherwise be found first.
const INSERT_SQL: &str = "INSERT INTO hubsync.outbox (sync_id, op, pk, new, old, origin) \
                          VALUES ($1, $2::pg_catalog.\"char\", $3::pg_catalog.jsonb, \
                                  $4::pg_catalog.jsonb, $5::pg_catalog.jsonb, $6)";

/// The same for a schema older than the library (installed, `ALTER EXTENSION hubsync
/// UPDATE` not run yet), whose outbox has no `origin`: changes are still captured, without
/// their provenance ($6 is declared and unused).
const INSERT_WITHOUT_ORIGIN_SQL: &str = "INSERT INTO hubsync.outbox (sync_id, op, pk, new, old) \
                          VALUES ($1, $2::pg_catalog.\"char\", $3::pg_catalog.jsonb, \
                                  $4::pg_catalog.jsonb, $5::pg_catalog.jsonb)";

/// Inserts the changes as the outbox's owner, restricted: users may write synced tables
/// without being able to write (or forge) outbox rows themselves.
fn write_outbox(sync_id: i32, origin: Option<i32>, changes: &[Change]) {
    Spi::connect_mut(|client| {
        INSERT_PLAN.with(|cell| {
            let (plan, owner) = cell.get_or_init(|| privilege::pinned(|| prepare(client)));
            let (mut user, mut context) = (pg_sys::InvalidOid, 0);
            unsafe {
                pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
                pg_sys::SetUserIdAndSecContext(
                    *owner,
                    context
                        | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32
                        | pg_sys::SECURITY_RESTRICTED_OPERATION as i32,
                );
            }
            for change in changes {
                let args = [
                    sync_id.into(),
                    change.op.into(),
                    change.pk.as_str().into(),
                    change.new.as_deref().into(),
                    change.old.as_deref().into(),
                    origin.into(),
                ];
                client
                    .update(plan, None, &args)
                    .unwrap_or_else(|e| error!("hubsync could not write its outbox: {e}"));
            }
            unsafe { pg_sys::SetUserIdAndSecContext(user, context) };
        })
    });
}

fn prepare(client: &pgrx::spi::SpiClient<'_>) -> (OwnedPreparedStatement, pg_sys::Oid) {
    let text = PgOid::BuiltIn(pg_sys::BuiltinOid::TEXTOID);
    let int4 = PgOid::BuiltIn(pg_sys::BuiltinOid::INT4OID);
    let has_origin = client
        .select(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = \
             'hubsync.outbox'::pg_catalog.regclass AND attname = 'origin' AND NOT attisdropped)",
            None,
            &[],
        )
        .and_then(|t| t.first().get_one::<bool>())
        .ok()
        .flatten()
        .unwrap_or(true);
    let sql = if has_origin {
        INSERT_SQL
    } else {
        INSERT_WITHOUT_ORIGIN_SQL
    };
    let plan = client
        .prepare_mut(sql, &[int4, text, text, text, text, int4])
        .unwrap_or_else(|e| error!("hubsync could not prepare its outbox insert: {e}"))
        .keep();
    let owner = client
        .select(
            "SELECT relowner FROM pg_catalog.pg_class WHERE oid = 'hubsync.outbox'::pg_catalog.regclass",
            None,
            &[],
        )
        .and_then(|t| t.first().get_one::<pg_sys::Oid>())
        .ok()
        .flatten()
        .unwrap_or(pg_sys::Oid::from(pg_sys::BOOTSTRAP_SUPERUSERID));
    (plan, owner)
}
