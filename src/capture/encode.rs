//! Column values as JSON, the way `to_jsonb()` renders them, straight from a heap tuple.
//!
//! The trigger cannot afford SQL per row, so it resolves each captured column once per call
//! and encodes datums itself: numbers stay exact (numeric text is copied as a JSON number),
//! dates and times use Postgres' own ISO encoder (independent of `DateStyle`), arrays go
//! through `array_to_json`, everything else through the type's output function as a string.

use pgrx::pg_sys;
use std::ffi::CStr;

/// `pg_catalog.array_to_json(anyarray)`, a fixed built-in function OID.
const ARRAY_TO_JSON: pg_sys::Oid = pg_sys::Oid::from_u32(3153);

/// How a column's values become JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    /// Integers: the output text is a JSON number.
    Integer,
    /// numeric/float: a JSON number unless NaN or infinite, which become strings.
    Decimal,
    DateTime,
    /// json/jsonb: the output text is JSON already.
    Json,
    Array,
    Text,
}

/// One captured column of the trigger's table, resolved against its tuple descriptor.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    attnum: i32,
    typid: pg_sys::Oid,
    typlen: i16,
    typbyval: bool,
    output_fn: pg_sys::Oid,
    kind: Kind,
}

impl Column {
    /// Resolves `name` in `tupdesc`; `None` if the column no longer exists.
    ///
    /// # Safety
    /// `tupdesc` must be the valid descriptor of the tuples later passed to this column.
    pub unsafe fn resolve(tupdesc: pg_sys::TupleDesc, name: &str) -> Option<Column> {
        let cname = std::ffi::CString::new(name).ok()?;
        let attnum = unsafe { pg_sys::SPI_fnumber(tupdesc, cname.as_ptr()) };
        if attnum <= 0 {
            return None;
        }
        let attr = unsafe { &*(*tupdesc).attrs.as_ptr().add(attnum as usize - 1) };
        let typid = attr.atttypid;
        let mut output_fn = pg_sys::InvalidOid;
        let mut is_varlena = false;
        unsafe { pg_sys::getTypeOutputInfo(typid, &mut output_fn, &mut is_varlena) };
        Some(Column {
            name: name.to_string(),
            attnum,
            typid,
            typlen: attr.attlen,
            typbyval: attr.attbyval,
            output_fn,
            kind: unsafe { kind_of(typid) },
        })
    }

    /// Whether the column is still where and what it was in `tupdesc` (cheap: memory
    /// reads only), so a cached resolution can be reused.
    ///
    /// # Safety
    /// `tupdesc` must be a valid tuple descriptor.
    pub unsafe fn fits(&self, tupdesc: pg_sys::TupleDesc) -> bool {
        let natts = unsafe { (*tupdesc).natts };
        if self.attnum > natts {
            return false;
        }
        let attr = unsafe { &*(*tupdesc).attrs.as_ptr().add(self.attnum as usize - 1) };
        let name = unsafe { CStr::from_ptr(attr.attname.data.as_ptr()) };
        !attr.attisdropped && attr.atttypid == self.typid && name.to_bytes() == self.name.as_bytes()
    }

    /// The column's datum in `tuple`, or `None` for SQL NULL.
    ///
    /// # Safety
    /// `tuple` must match the descriptor the column was resolved against.
    pub unsafe fn datum(
        &self,
        tuple: *mut pg_sys::HeapTupleData,
        tupdesc: pg_sys::TupleDesc,
    ) -> Option<pg_sys::Datum> {
        let mut isnull = false;
        let datum = unsafe { pg_sys::heap_getattr(tuple, self.attnum, tupdesc, &mut isnull) };
        (!isnull).then_some(datum)
    }

    /// Appends the JSON encoding of `value` to `out`.
    ///
    /// # Safety
    /// `value` must be a datum of this column's type.
    pub unsafe fn write_json(&self, out: &mut String, value: Option<pg_sys::Datum>) {
        let Some(datum) = value else {
            out.push_str("null");
            return;
        };
        match self.kind {
            Kind::Bool => out.push_str(if datum.value() != 0 { "true" } else { "false" }),
            Kind::Integer | Kind::Json => out.push_str(&unsafe { self.output(datum) }),
            Kind::Decimal => {
                let text = unsafe { self.output(datum) };
                if is_json_number(&text) {
                    out.push_str(&text);
                } else {
                    push_json_string(out, &text);
                }
            }
            Kind::DateTime => {
                let encoded = unsafe {
                    pg_sys::JsonEncodeDateTime(
                        std::ptr::null_mut(),
                        datum,
                        self.typid,
                        std::ptr::null(),
                    )
                };
                push_json_string(out, &unsafe { owned_cstring(encoded) });
            }
            Kind::Array => {
                let json = unsafe {
                    pg_sys::OidFunctionCall1Coll(ARRAY_TO_JSON, pg_sys::InvalidOid, datum)
                };
                let text = unsafe { pg_sys::text_to_cstring(json.cast_mut_ptr()) };
                out.push_str(&unsafe { owned_cstring(text) });
            }
            Kind::Text => push_json_string(out, &unsafe { self.output(datum) }),
        }
    }

    /// Binary equality of two values of this column: cheap, and errs only towards
    /// "changed" (e.g. the same text stored compressed and uncompressed).
    ///
    /// # Safety
    /// Both datums must be values of this column's type.
    pub unsafe fn same(&self, a: Option<pg_sys::Datum>, b: Option<pg_sys::Datum>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => unsafe { self.same_datum(a, b) },
            _ => false,
        }
    }

    unsafe fn same_datum(&self, a: pg_sys::Datum, b: pg_sys::Datum) -> bool {
        if self.typbyval {
            return a == b;
        }
        let (pa, pb): (*const u8, *const u8) = (a.cast_mut_ptr(), b.cast_mut_ptr());
        if self.typlen > 0 {
            let n = self.typlen as usize;
            return unsafe {
                std::slice::from_raw_parts(pa, n) == std::slice::from_raw_parts(pb, n)
            };
        }
        if self.typlen == -1 {
            let va = unsafe { pg_sys::pg_detoast_datum_packed(a.cast_mut_ptr()) };
            let vb = unsafe { pg_sys::pg_detoast_datum_packed(b.cast_mut_ptr()) };
            return unsafe { varlena_bytes(va) == varlena_bytes(vb) };
        }
        unsafe { CStr::from_ptr(pa.cast()) == CStr::from_ptr(pb.cast()) }
    }

    unsafe fn output(&self, datum: pg_sys::Datum) -> String {
        unsafe { owned_cstring(pg_sys::OidOutputFunctionCall(self.output_fn, datum)) }
    }
}

unsafe fn varlena_bytes<'a>(v: *const pg_sys::varlena) -> &'a [u8] {
    unsafe {
        std::slice::from_raw_parts(
            pgrx::vardata_any(v).cast::<u8>(),
            pgrx::varsize_any_exhdr(v),
        )
    }
}

unsafe fn kind_of(typid: pg_sys::Oid) -> Kind {
    let base = unsafe { pg_sys::getBaseType(typid) };
    match base {
        pg_sys::BOOLOID => Kind::Bool,
        pg_sys::INT2OID | pg_sys::INT4OID | pg_sys::INT8OID | pg_sys::OIDOID => Kind::Integer,
        pg_sys::NUMERICOID | pg_sys::FLOAT4OID | pg_sys::FLOAT8OID => Kind::Decimal,
        pg_sys::DATEOID
        | pg_sys::TIMESTAMPOID
        | pg_sys::TIMESTAMPTZOID
        | pg_sys::TIMEOID
        | pg_sys::TIMETZOID => Kind::DateTime,
        pg_sys::JSONOID | pg_sys::JSONBOID => Kind::Json,
        _ if unsafe { pg_sys::get_element_type(base) } != pg_sys::InvalidOid => Kind::Array,
        _ => Kind::Text,
    }
}

unsafe fn owned_cstring(ptr: *mut std::ffi::c_char) -> String {
    let s = unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned();
    unsafe { pg_sys::pfree(ptr.cast()) };
    s
}

/// NaN and infinities print as words, which JSON numbers cannot hold.
fn is_json_number(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
}

/// Appends `text` as a JSON string literal.
pub fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
