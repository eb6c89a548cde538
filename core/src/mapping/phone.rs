//! Phone numbers to E.164 with the `phonenumber` crate (libphonenumber's metadata), so
//! national formats, extensions and country rules are handled by a maintained rule set.

use super::decimal::abbreviate;
use phonenumber::{country, Mode};

/// The region assumed for numbers written without a country code, checked once at config time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(country::Id);

impl PhoneRegion {
    /// Parses an ISO 3166 alpha-2 code such as `US` or `gb`.
    pub fn parse(code: &str) -> Result<PhoneRegion, String> {
        code.trim()
            .to_ascii_uppercase()
            .parse::<country::Id>()
            .map(PhoneRegion)
            .map_err(|_| {
                format!(
                    "\"{code}\" is not a phone region; use an ISO 3166 alpha-2 code such as \"US\""
                )
            })
    }

    /// The number in E.164 (`+14155552671`); a text that is not a valid number is an error,
    /// never passed through.
    pub fn to_e164(self, text: &str) -> Result<String, String> {
        let invalid = || {
            format!(
                "\"{}\" is not a valid phone number (region {:?} assumed when no +country code is given)",
                abbreviate(text),
                self.0
            )
        };
        let number = phonenumber::parse(Some(self.0), text).map_err(|_| invalid())?;
        if !phonenumber::is_valid(&number) {
            return Err(invalid());
        }
        Ok(number.format().mode(Mode::E164).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> PhoneRegion {
        PhoneRegion::parse("US").unwrap()
    }

    #[test]
    fn formats_national_and_international_numbers() {
        assert_eq!(us().to_e164("(415) 555-2671").unwrap(), "+14155552671");
        assert_eq!(us().to_e164("415.555.2671").unwrap(), "+14155552671");
        assert_eq!(us().to_e164("+1 415 555 2671").unwrap(), "+14155552671");
        assert_eq!(us().to_e164("+44 20 7946 0958").unwrap(), "+442079460958");
        let gb = PhoneRegion::parse("gb").unwrap();
        assert_eq!(gb.to_e164("020 7946 0958").unwrap(), "+442079460958");
    }

    #[test]
    fn malformed_numbers_are_errors() {
        for bad in [
            "",
            "   ",
            "call me",
            "12",
            "+1 000 000 0000",
            "555-CALL-NOW!!",
            "☎️ 415",
            &"9".repeat(500),
        ] {
            assert!(us().to_e164(bad).is_err(), "{bad:?} accepted");
        }
        let err = us().to_e164("nope").unwrap_err();
        assert!(
            err.contains("\"nope\" is not a valid phone number"),
            "{err}"
        );
    }

    #[test]
    fn unknown_regions_are_refused() {
        assert!(PhoneRegion::parse("ZZ").is_err());
        assert!(PhoneRegion::parse("USA").is_err());
        assert!(PhoneRegion::parse("").is_err());
    }
}
