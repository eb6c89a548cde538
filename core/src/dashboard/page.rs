//! The dashboard's page: one self-contained HTML document (inline CSS, inline script,
//! charts drawn as inline SVG), since the server may have no internet and must load
//! nothing from elsewhere. It polls `/api/snapshot` and builds the page with DOM calls
//! only (`textContent`, attributes), so no sync name or message is ever parsed as HTML.

/// The dashboard (page.html beside this file).
pub const PAGE: &str = include_str!("page.html");

/// What a browser gets at `/` without the token: a form that asks for it.
pub const LOGIN: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"referrer\" content=\"no-referrer\"><title>hubsync dashboard</title>\
<style>body{font:15px system-ui,sans-serif;background:#f4f6f9;display:grid;place-items:center;height:90vh}\
form{background:#fff;border:1px solid #e3e8ee;border-radius:8px;padding:24px}\
input{font:inherit;padding:6px;width:22em}</style></head><body>\
<form method=\"get\" action=\"/\"><h1>hubsync dashboard</h1>\
<p>The access token (the content of <code>hubsync.dashboard_token_file</code>):</p>\
<input type=\"password\" name=\"token\" autofocus> <button>Open</button></form></body></html>";

/// The page's Content-Security-Policy: its own inline script and style, requests to
/// itself only, and no framing.
pub const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
connect-src 'self'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere_and_never_parses_data_as_html() {
        for page in [PAGE, LOGIN] {
            assert!(!page.contains("https://"), "an external resource");
            assert!(!page.contains("<script src"), "an external script");
            assert!(!page.contains("innerHTML") && !page.contains("insertAdjacentHTML"));
            assert!(!page.contains("document.write"));
        }
        // The only URL in the page is SVG's namespace, which is a name, not a request.
        let urls: Vec<&str> = PAGE
            .match_indices("http://")
            .map(|(i, _)| &PAGE[i..i + 26])
            .collect();
        assert!(
            urls.iter().all(|u| *u == "http://www.w3.org/2000/svg"),
            "{urls:?}"
        );
    }
}
