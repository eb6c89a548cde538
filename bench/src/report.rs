//! The results: one row per reported figure (a ratio against a baseline of the same run, or
//! a count), written as `<date>.json` (with every repetition's raw numbers) and `<date>.md`.

use crate::stats::round;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A goal a figure is read against. Reported, never enforced: benchmarks are not tests.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    fn met(self, value: f64) -> bool {
        match self {
            Target::AtLeast(t) => value >= t,
            Target::AtMost(t) => value <= t,
        }
    }

    fn label(self, unit: &str) -> String {
        match self {
            Target::AtLeast(t) => format!("≥ {}{unit}", trim(t)),
            Target::AtMost(t) => format!("≤ {}{unit}", trim(t)),
        }
    }
}

/// One reported figure.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: &'static str,
    pub figure: String,
    /// `None` when the figure could not be measured (see `detail`).
    pub value: Option<f64>,
    pub unit: &'static str,
    pub target: Option<Target>,
    /// The medians behind a ratio, or why there is no value.
    pub detail: String,
}

impl Row {
    pub fn new(scenario: &'static str, figure: impl Into<String>, unit: &'static str) -> Row {
        Row {
            scenario,
            figure: figure.into(),
            value: None,
            unit,
            target: None,
            detail: String::new(),
        }
    }

    pub fn value(mut self, value: Option<f64>) -> Row {
        self.value = value;
        self
    }

    pub fn target(mut self, target: Target) -> Row {
        self.target = Some(target);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Row {
        self.detail = detail.into();
        self
    }

    fn met(&self) -> Option<bool> {
        Some(self.target?.met(self.value?))
    }

    fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "figure": self.figure,
            "value": self.value.map(|v| round(v, 3)),
            "unit": self.unit,
            "target": self.target.map(|t| t.label(self.unit)),
            "met": self.met(),
            "detail": self.detail,
        })
    }
}

/// What one scenario produced: its table rows and its raw data.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    pub name: &'static str,
    pub rows: Vec<Row>,
    /// Every repetition's numbers and the settings used, for the JSON file.
    pub data: Value,
}

/// A whole run.
pub struct RunReport {
    pub date: String,
    pub started_at: String,
    pub machine: Value,
    pub postgres: String,
    pub command: String,
    pub settings: Value,
    pub scenarios: Vec<ScenarioReport>,
}

impl RunReport {
    /// Writes `<dir>/<date>.json` and `<dir>/<date>.md`; returns their paths.
    pub fn write(&self, dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let json_path = dir.join(format!("{}.json", self.date));
        let md_path = dir.join(format!("{}.md", self.date));
        let text = serde_json::to_string_pretty(&self.to_json()).expect("JSON values serialize");
        std::fs::write(&json_path, text + "\n")?;
        std::fs::write(&md_path, self.markdown())?;
        Ok((json_path, md_path))
    }

    fn to_json(&self) -> Value {
        let scenarios: Map<String, Value> = self
            .scenarios
            .iter()
            .map(|s| (s.name.to_string(), s.data.clone()))
            .collect();
        json!({
            "date": self.date,
            "started_at": self.started_at,
            "machine": self.machine,
            "postgres": self.postgres,
            "command": self.command,
            "settings": self.settings,
            "table": self.scenarios.iter().flat_map(|s| s.rows.iter().map(Row::to_json)).collect::<Vec<_>>(),
            "scenarios": scenarios,
        })
    }

    /// The results table, as BENCHMARKS.md shows it.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# hubsync benchmark results, {}\n", self.date);
        let _ = writeln!(out, "- Started: {}", self.started_at);
        let _ = writeln!(out, "- Machine: {}", machine_line(&self.machine));
        let _ = writeln!(out, "- PostgreSQL: {}", self.postgres);
        let _ = writeln!(out, "- Command: `{}`", self.command);
        let _ = writeln!(
            out,
            "- Repetitions per scenario: {}; each value is the median over them\n",
            self.settings["reps"]
        );
        out.push_str("| Scenario | Figure | Value | Target | Met | Medians behind it |\n");
        out.push_str("|---|---|---:|---|:---:|---|\n");
        for row in self.scenarios.iter().flat_map(|s| &s.rows) {
            let value = match row.value {
                Some(v) => format!("{}{}", trim(v), row.unit),
                None => "not available".to_string(),
            };
            let met = match row.met() {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "–",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                row.scenario,
                row.figure,
                value,
                row.target.map_or("–".into(), |t| t.label(row.unit)),
                met,
                row.detail.replace('|', "/")
            );
        }
        out
    }
}

fn machine_line(machine: &Value) -> String {
    format!(
        "{} cores ({}), {} MiB memory, load average {} at start / {} at end",
        machine["cores"],
        machine["cpu"].as_str().unwrap_or("unknown CPU"),
        machine["memory_mib"],
        machine["load_start"].as_str().unwrap_or("?"),
        machine["load_end"].as_str().unwrap_or("?"),
    )
}

/// A number without needless decimals: 2 decimals below 10 (3 below 0.1, so a small
/// ratio does not read as zero), fewer above.
pub fn trim(v: f64) -> String {
    let digits = if v.abs() >= 1000.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else if v.abs() >= 0.1 || v == 0.0 {
        2
    } else {
        3
    };
    let text = format!("{:.*}", digits, v);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_read_in_their_direction() {
        let row = Row::new("x", "ratio", "×").target(Target::AtLeast(0.85));
        assert_eq!(row.clone().value(Some(0.9)).met(), Some(true));
        assert_eq!(row.clone().value(Some(0.8)).met(), Some(false));
        assert_eq!(row.value(None).met(), None);
        let latency = Row::new("x", "p99", " ms").target(Target::AtMost(100.0));
        assert_eq!(latency.value(Some(120.0)).met(), Some(false));
    }

    #[test]
    fn numbers_are_trimmed_for_the_table() {
        assert_eq!(trim(0.8512), "0.85");
        assert_eq!(trim(12.26), "12.3");
        assert_eq!(trim(25000.4), "25000");
        assert_eq!(trim(3.0), "3");
        assert_eq!(trim(0.0043), "0.004");
    }
}
