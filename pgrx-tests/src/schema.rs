//! The hubsync extension's schema as a database holds it, described object by object from the
//! catalogs, so that a database upgraded with `ALTER EXTENSION hubsync UPDATE` can be compared
//! with a fresh install of the same version.
//!
//! `pg_dump --schema-only` cannot do this: it writes an extension's members as one
//! `CREATE EXTENSION`. So every member and everything hanging off one (columns, constraints,
//! indexes, triggers, policies, view definitions, function definitions with their
//! `SECURITY DEFINER`, settings and ACLs, sequences, initial privileges, the tables marked for
//! pg_dump) is written as one entry, keyed by a name and never by an OID.

use postgres::Client;
use std::collections::BTreeMap;

/// One entry per object: its key (kind and qualified name) and everything that defines it.
const DESCRIBE: &str = r#"
WITH ext AS (
    SELECT e.oid, e.extnamespace, e.extconfig, e.extcondition
    FROM pg_catalog.pg_extension e WHERE e.extname = 'hubsync'
), members AS (
    SELECT d.classid, d.objid
    FROM pg_catalog.pg_depend d, ext
    WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
      AND d.refobjid = ext.oid AND d.deptype = 'e'
), rels AS (
    SELECT c.* FROM pg_catalog.pg_class c
    JOIN members m ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND m.objid = c.oid
), procs AS (
    SELECT p.* FROM pg_catalog.pg_proc p
    JOIN members m ON m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND m.objid = p.oid
)
SELECT 'extension hubsync',
       format('schema %s, configuration tables for pg_dump: %s', n.nspname,
              (SELECT coalesce(string_agg(format('%s %L', u.tbl::regclass, u.cond), ', '
                                          ORDER BY u.tbl::regclass::text), 'none')
               FROM unnest(ext.extconfig, ext.extcondition) AS u(tbl, cond)))
FROM ext JOIN pg_catalog.pg_namespace n ON n.oid = ext.extnamespace
UNION ALL
SELECT format('schema %I', n.nspname),
       format('owner %s, acl %s, comment %L', pg_catalog.pg_get_userbyid(n.nspowner), n.nspacl,
              pg_catalog.obj_description(n.oid, 'pg_namespace'))
FROM ext JOIN pg_catalog.pg_namespace n ON n.oid = ext.extnamespace
UNION ALL
SELECT format('member %s %s', o.type, o.identity), ''
FROM members m, pg_catalog.pg_identify_object(m.classid, m.objid, 0) o
WHERE m.classid NOT IN ('pg_catalog.pg_class'::pg_catalog.regclass,
                        'pg_catalog.pg_proc'::pg_catalog.regclass)
UNION ALL
SELECT format('relation %s', c.oid::regclass),
       format('kind %s, owner %s, options %s, acl %s, row security %s (forced %s), persistence %s, '
              'replica identity %s, comment %L',
              c.relkind, pg_catalog.pg_get_userbyid(c.relowner), c.reloptions, c.relacl,
              c.relrowsecurity, c.relforcerowsecurity, c.relpersistence, c.relreplident,
              pg_catalog.obj_description(c.oid, 'pg_class'))
FROM rels c
UNION ALL
SELECT format('column %s.%I', c.oid::regclass, a.attname),
       format('position %s, %s%s, default %s, identity %L, generated %L, collation %s, '
              'statistics %s, storage %s, acl %s, comment %L',
              pg_catalog.row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
              pg_catalog.format_type(a.atttypid, a.atttypmod),
              CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
              pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
              co.collname, a.attstattarget, a.attstorage, a.attacl,
              pg_catalog.col_description(c.oid, a.attnum))
FROM rels c
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
WHERE c.relkind <> 'S'
UNION ALL
SELECT format('constraint %s.%I', c.oid::regclass, k.conname),
       format('%s%s', pg_catalog.pg_get_constraintdef(k.oid),
              CASE WHEN k.condeferrable THEN ' deferrable' ELSE '' END)
FROM rels c JOIN pg_catalog.pg_constraint k ON k.conrelid = c.oid
UNION ALL
SELECT format('index %s', i.indexrelid::regclass),
       format('%s, statistics %s', pg_catalog.pg_get_indexdef(i.indexrelid),
              (SELECT string_agg(coalesce(ia.attstattarget, -1)::text, ',' ORDER BY ia.attnum)
               FROM pg_catalog.pg_attribute ia WHERE ia.attrelid = i.indexrelid))
FROM rels c JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
UNION ALL
SELECT format('view %s', c.oid::regclass), pg_catalog.pg_get_viewdef(c.oid, true)
FROM rels c WHERE c.relkind IN ('v', 'm')
UNION ALL
SELECT format('rule %s.%I', c.oid::regclass, r.rulename), pg_catalog.pg_get_ruledef(r.oid, true)
FROM rels c JOIN pg_catalog.pg_rewrite r ON r.ev_class = c.oid AND r.rulename <> '_RETURN'
UNION ALL
SELECT format('trigger %s.%I', c.oid::regclass, t.tgname),
       format('%s, enabled %s', pg_catalog.pg_get_triggerdef(t.oid, true), t.tgenabled)
FROM rels c JOIN pg_catalog.pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
UNION ALL
SELECT format('policy %s.%I', c.oid::regclass, p.polname),
       format('command %s, permissive %s, roles %s, using %s, with check %s', p.polcmd,
              p.polpermissive,
              (SELECT string_agg(x.role, ',' ORDER BY x.role)
               FROM (SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r) END
                     FROM unnest(p.polroles) r) AS x(role)),
              pg_catalog.pg_get_expr(p.polqual, p.polrelid),
              pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
FROM rels c JOIN pg_catalog.pg_policy p ON p.polrelid = c.oid
UNION ALL
SELECT format('sequence %s', c.oid::regclass),
       format('type %s, start %s, increment %s, min %s, max %s, cache %s, cycle %s, owned by %s',
              s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
              s.seqcycle,
              (SELECT format('%s.%I', d.refobjid::regclass, a.attname)
               FROM pg_catalog.pg_depend d
               JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
               WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
                 AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                 AND d.deptype IN ('a', 'i')))
FROM rels c JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
UNION ALL
SELECT format('function %s', p.oid::regprocedure),
       format('%s-- owner %s, acl %s, comment %L',
              CASE WHEN p.prokind = 'a' THEN 'aggregate '
                   ELSE pg_catalog.pg_get_functiondef(p.oid) END,
              pg_catalog.pg_get_userbyid(p.proowner), p.proacl,
              pg_catalog.obj_description(p.oid, 'pg_proc'))
FROM procs p
UNION ALL
SELECT format('type %s', t.oid::regtype),
       format('kind %s, owner %s, acl %s, base %s, not null %s, labels %s, constraints %s',
              t.typtype, pg_catalog.pg_get_userbyid(t.typowner), t.typacl,
              nullif(t.typbasetype, 0)::regtype, t.typnotnull,
              (SELECT string_agg(e.enumlabel::text, ',' ORDER BY e.enumsortorder)
               FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid),
              (SELECT string_agg(format('%I %s', k.conname, pg_catalog.pg_get_constraintdef(k.oid)),
                                 ', ' ORDER BY k.conname)
               FROM pg_catalog.pg_constraint k WHERE k.contypid = t.oid))
FROM pg_catalog.pg_type t
JOIN members m ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND m.objid = t.oid
UNION ALL
SELECT format('initial privileges of %s',
              pg_catalog.pg_describe_object(i.classoid, i.objoid, i.objsubid)),
       format('%s (%s)', i.initprivs, i.privtype)
FROM pg_catalog.pg_init_privs i
WHERE (i.classoid, i.objoid) IN (
    SELECT classid, objid FROM members
    UNION ALL SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass, extnamespace FROM ext)
"#;

/// The extension's objects in the database `db` is connected to: key → definition.
pub fn describe(db: &mut Client) -> BTreeMap<String, String> {
    db.query(DESCRIBE, &[])
        .unwrap_or_else(|e| panic!("describe the hubsync schema: {e}"))
        .iter()
        .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)))
        .collect()
}

/// What differs between the schema a fresh install gives (`fresh`) and the one an upgrade
/// gave (`upgraded`), written for the person who has to mend the upgrade script; `None`
/// when they are the same.
pub fn difference(
    fresh: &BTreeMap<String, String>,
    upgraded: &BTreeMap<String, String>,
) -> Option<String> {
    let mut missing = String::new();
    let mut extra = String::new();
    let mut changed = String::new();
    for (key, definition) in fresh {
        match upgraded.get(key) {
            None => missing.push_str(&format!("    {key}: {definition}\n")),
            Some(other) if other != definition => changed.push_str(&format!(
                "    {key}\n      fresh install: {definition}\n      after upgrade: {other}\n"
            )),
            Some(_) => {}
        }
    }
    for (key, definition) in upgraded {
        if !fresh.contains_key(key) {
            extra.push_str(&format!("    {key}: {definition}\n"));
        }
    }
    let sections = [
        ("only in a fresh install (the upgrade script must create it)", missing),
        ("only after the upgrade (the upgrade script must drop it, or the install script lacks it)", extra),
        ("defined differently", changed),
    ];
    let text: String = sections
        .iter()
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(title, lines)| format!("  {title}:\n{lines}"))
        .collect();
    (!text.is_empty()).then_some(text)
}
