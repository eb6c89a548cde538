//! Converting between five-character SQLSTATEs (as `hubsync-core` names them) and pgrx codes.

use pgrx::PgSqlErrorCode;

/// `"22023"` → `ERRCODE_INVALID_PARAMETER_VALUE`, packed the way Postgres' MAKE_SQLSTATE does.
pub fn code(sqlstate: &str) -> PgSqlErrorCode {
    let packed = sqlstate
        .bytes()
        .take(5)
        .enumerate()
        .fold(0i32, |acc, (i, c)| {
            acc | ((((c as i32) - ('0' as i32)) & 0x3F) << (6 * i))
        });
    PgSqlErrorCode::from(packed)
}

/// `ERRCODE_UNDEFINED_TABLE` → `"42P01"`.
pub fn text(code: PgSqlErrorCode) -> String {
    let packed = code as isize as i32;
    (0..5)
        .map(|i| (((packed >> (6 * i)) & 0x3F) as u8 + b'0') as char)
        .collect()
}
