//! "Did you mean ...?": the nearest known name to a misspelt one.

/// "; did you mean 'x'?" when one candidate is close to `word`, else "".
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    closest(word, candidates)
        .map(|c| format!("; did you mean '{c}'?"))
        .unwrap_or_default()
}

/// The candidate nearest to `word`, if it is near enough to be a typo or one is a prefix of
/// the other (`industry` for `industry_type`). Distance counts edits, a swap of neighbours as
/// one, ignoring case.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (c, c.to_lowercase()))
        .filter(|(_, lower)| is_near(&word, lower))
        .min_by_key(|(_, lower)| strsim::osa_distance(&word, lower))
        .map(|(c, _)| c)
}

/// Few edits apart, or one a prefix (of three or more characters) of the other.
fn is_near(word: &str, candidate: &str) -> bool {
    let typo = strsim::osa_distance(word, candidate) <= (candidate.chars().count() / 3).max(1);
    let (short, long) = if word.len() <= candidate.len() {
        (word, candidate)
    } else {
        (candidate, word)
    };
    typo || (short.len() >= 3 && long.starts_with(short))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_swaps_and_prefixes_are_near_others_are_not() {
        let known = [
            "retry_strategy",
            "notification",
            "notifications",
            "fallback",
        ];
        assert_eq!(closest("retry_stratgy", known), Some("retry_strategy"));
        assert_eq!(closest("Notifcation", known), Some("notification"));
        assert_eq!(closest("emial", ["email", "phone"]), Some("email"));
        assert_eq!(
            closest("industry", ["industry_type"]),
            Some("industry_type")
        );
        assert_eq!(closest("alerts", known), None);
        assert_eq!(did_you_mean("fallbak", known), "; did you mean 'fallback'?");
        assert_eq!(did_you_mean("zzz", known), "");
    }
}
