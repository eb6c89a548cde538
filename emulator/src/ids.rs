//! Salesforce record ids: 15-character case-sensitive ids and their 18-character,
//! case-insensitive-safe form with the checksum suffix.
//!
//! Clients may send either form (in any letter case for the 18-character one); the
//! emulator always answers with the canonical 18-character id, as a real org does.

use std::fmt;

const SUFFIX_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A canonical 18-character record id, stored inline so records stay cheap to copy.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; 18]);

impl Id {
    /// The id a new record of the object with `key_prefix` gets as its `counter`-th record.
    /// Layout: prefix (3) + pod `xx` + reserved `0` + 9 base-62 digits, as in sandbox ids.
    pub fn generate(key_prefix: &str, counter: u64) -> Id {
        let mut raw = [b'0'; 15];
        raw[..3].copy_from_slice(&key_prefix.as_bytes()[..3]);
        raw[3] = b'x';
        raw[4] = b'x';
        let mut n = counter;
        for slot in raw[6..].iter_mut().rev() {
            *slot = BASE62[(n % 62) as usize];
            n /= 62;
        }
        Id::from_15(raw)
    }

    /// Parses a 15- or 18-character id; an 18-character id has its letter case repaired
    /// from its suffix, so `001XX000003dgb2AAG`-style inputs are accepted as Salesforce does.
    pub fn parse(text: &str) -> Option<Id> {
        let bytes = text.as_bytes();
        if !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        match bytes.len() {
            15 => Some(Id::from_15(bytes.try_into().ok()?)),
            18 => {
                let mut raw: [u8; 15] = bytes[..15].try_into().ok()?;
                for (chunk, suffix) in raw.chunks_mut(5).zip(&bytes[15..]) {
                    let bits = SUFFIX_ALPHABET
                        .iter()
                        .position(|c| c == &suffix.to_ascii_uppercase())?;
                    for (i, c) in chunk.iter_mut().enumerate() {
                        if c.is_ascii_alphabetic() {
                            *c = if bits & (1 << i) != 0 {
                                c.to_ascii_uppercase()
                            } else {
                                c.to_ascii_lowercase()
                            };
                        }
                    }
                }
                Some(Id::from_15(raw))
            }
            _ => None,
        }
    }

    fn from_15(raw: [u8; 15]) -> Id {
        let mut full = [0u8; 18];
        full[..15].copy_from_slice(&raw);
        for (i, chunk) in raw.chunks(5).enumerate() {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_ascii_uppercase())
                .fold(0usize, |acc, (pos, _)| acc | (1 << pos));
            full[15 + i] = SUFFIX_ALPHABET[bits];
        }
        Id(full)
    }

    /// The canonical 18-character text.
    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever stored.
        std::str::from_utf8(&self.0).expect("ids are ASCII")
    }

    /// The three-character key prefix that names the object type.
    pub fn key_prefix(&self) -> &str {
        &self.as_str()[..3]
    }
}

/// The org's id (`00D…`), used in token responses and access tokens.
pub fn org_id() -> Id {
    Id::generate("00D", 1)
}

/// The one user of the emulated org (`005…`): the configured login, owner of every record.
pub fn user_id() -> Id {
    Id::generate("005", 1)
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_documented_ids() {
        for (short, suffix) in [
            ("001D000000IRFma", "IAH"),
            ("003RO0000035WQg", "YAM"),
            ("00190000001pPvH", "AAU"),
            ("a00D0000008pQRA", "IA2"),
            ("005D0000001QX8W", "IAW"),
            ("00Di0000000icUB", "EAY"),
            ("750R0000000zxr8", "IAA"),
            ("001xx000003DGb2", "AAG"),
        ] {
            let id = Id::parse(short).unwrap();
            assert_eq!(id.as_str(), format!("{short}{suffix}"));
        }
    }

    #[test]
    fn eighteen_char_ids_are_case_repaired() {
        let id = Id::parse("001XX000003dgB2aag").unwrap();
        assert_eq!(id.as_str(), "001xx000003DGb2AAG");
        assert_eq!(Id::parse("001xx000003DGb2AAG"), Some(id));
    }

    #[test]
    fn rejects_malformed_ids() {
        assert_eq!(Id::parse("001xx"), None);
        assert_eq!(Id::parse("001xx000003DGb2AA!"), None);
        assert_eq!(Id::parse("001xx000003DGb2-AG"), None);
        assert_eq!(Id::parse("001xx000003DGb2AA9"), None);
    }

    #[test]
    fn generated_ids_are_distinct_and_keep_their_prefix() {
        let a = Id::generate("a01", 1);
        let b = Id::generate("a01", 62);
        assert_eq!(a.as_str(), "a01xx0000000001AAA");
        assert_ne!(a, b);
        assert_eq!(b.key_prefix(), "a01");
        assert_eq!(Id::parse(b.as_str()), Some(b));
    }
}
