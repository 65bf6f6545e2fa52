//! Hundreds of generated invalid configurations: never a panic, always an error that
//! names every broken compartment.
#![cfg(feature = "semaphore")]

mod support;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{builder, ProbePlugin, TempDir};

const CASES: usize = 400;
const NAMES: [&str; 4] = ["user-api", "order-api", "payment-api", "jobs"];

/// One way to break a compartment, always invalid.
#[derive(Debug, Clone, Copy)]
enum Break {
    UnknownKey,
    UnknownKind,
    MissingKind,
    KindNotAString,
    ZeroLimit,
    NegativeLimit,
    AbsurdLimit,
    LimitAsText,
    LimitAsFloat,
    LimitAsTable,
    BadDuration,
    DurationAsNumber,
    HugeDuration,
    SectionNotATable,
    BadProbeSize,
    BadName,
}

const BREAKS: [Break; 16] = [
    Break::UnknownKey,
    Break::UnknownKind,
    Break::MissingKind,
    Break::KindNotAString,
    Break::ZeroLimit,
    Break::NegativeLimit,
    Break::AbsurdLimit,
    Break::LimitAsText,
    Break::LimitAsFloat,
    Break::LimitAsTable,
    Break::BadDuration,
    Break::DurationAsNumber,
    Break::HugeDuration,
    Break::SectionNotATable,
    Break::BadProbeSize,
    Break::BadName,
];

/// A compartment as `(key, TOML value)` pairs; `None` for a section that is a bare value.
struct Section {
    name: String,
    entries: Vec<(String, String)>,
    bare: Option<String>,
}

fn valid_section(rng: &mut StdRng, name: &str) -> Section {
    let mut entries = vec![("kind".to_owned(), "\"semaphore\"".to_owned())];
    if rng.random_bool(0.7) {
        entries.push((
            "max_concurrent".into(),
            rng.random_range(1..500).to_string(),
        ));
    }
    if rng.random_bool(0.5) {
        entries.push((
            "max_wait".into(),
            format!("\"{}ms\"", rng.random_range(0..5000)),
        ));
    }
    if rng.random_bool(0.3) {
        entries.push(("max_waiting".into(), rng.random_range(0..2000).to_string()));
    }
    Section {
        name: name.to_owned(),
        entries,
        bare: None,
    }
}

fn set(section: &mut Section, key: &str, value: &str) {
    section.entries.retain(|(k, _)| k != key);
    section.entries.push((key.to_owned(), value.to_owned()));
}

fn apply(rng: &mut StdRng, section: &mut Section, how: Break) {
    match how {
        Break::UnknownKey => {
            let key = ["max_concurent", "timeout", "limit", "maxWait"][rng.random_range(0..4)];
            set(section, key, "1");
        }
        Break::UnknownKind => set(section, "kind", "\"thread-pool\""),
        Break::MissingKind => section.entries.retain(|(k, _)| k != "kind"),
        Break::KindNotAString => set(section, "kind", "7"),
        Break::ZeroLimit => set(section, "max_concurrent", "0"),
        Break::NegativeLimit => {
            let key = ["max_concurrent", "max_waiting"][rng.random_range(0..2)];
            set(section, key, &format!("-{}", rng.random_range(1..1000)));
        }
        Break::AbsurdLimit => set(
            section,
            "max_concurrent",
            &rng.random_range(1_000_001..9_000_000_000u64).to_string(),
        ),
        Break::LimitAsText => set(section, "max_waiting", "\"lots\""),
        Break::LimitAsFloat => set(section, "max_concurrent", "2.5"),
        Break::LimitAsTable => set(section, "max_concurrent", "{ value = 3 }"),
        Break::BadDuration => {
            let text = ["soon", "10 parsecs", "-5s", "", "ms"][rng.random_range(0..5)];
            set(section, "max_wait", &format!("\"{text}\""));
        }
        Break::DurationAsNumber => set(section, "retry_after", "30"),
        Break::HugeDuration => set(section, "max_wait", "\"2days\""),
        Break::SectionNotATable => section.bare = Some("\"semaphore\"".to_owned()),
        Break::BadProbeSize => {
            set(section, "kind", "\"probe\"");
            section.entries.retain(|(k, _)| k == "kind");
            set(section, "size", &rng.random_range(101..100_000).to_string());
        }
        Break::BadName => section.name = format!("{} {}", section.name, rng.random_range(0..9)),
    }
}

fn toml(sections: &[Section]) -> String {
    let mut text = String::new();
    let mut bare = String::new();
    for section in sections {
        let name = format!("\"{}\"", section.name);
        if let Some(value) = &section.bare {
            writeln!(bare, "{name} = {value}").unwrap();
            continue;
        }
        writeln!(text, "[compartments.{name}]").unwrap();
        for (key, value) in &section.entries {
            writeln!(text, "{key} = {value}").unwrap();
        }
        text.push('\n');
    }
    if bare.is_empty() {
        text
    } else {
        format!("[compartments]\n{bare}\n{text}")
    }
}

fn yaml_value(value: &str) -> String {
    match value.strip_prefix("{ value = ") {
        Some(rest) => format!("{{value: {}", rest.trim_end_matches(" }")) + "}",
        None => value.to_owned(),
    }
}

fn yaml(sections: &[Section]) -> String {
    let mut text = String::from("compartments:\n");
    for section in sections {
        let name = format!("\"{}\"", section.name);
        if let Some(value) = &section.bare {
            writeln!(text, "  {name}: {value}").unwrap();
            continue;
        }
        if section.entries.is_empty() {
            writeln!(text, "  {name}: {{}}").unwrap();
            continue;
        }
        writeln!(text, "  {name}:").unwrap();
        for (key, value) in &section.entries {
            writeln!(text, "    {key}: {}", yaml_value(value)).unwrap();
        }
    }
    text
}

#[test]
fn hundreds_of_generated_invalid_configurations_are_refused_without_panicking() {
    let mut rng = StdRng::seed_from_u64(0x00b0_1c4e_ad00);
    let dir = TempDir::new("generated");
    for case in 0..CASES {
        let mut sections = Vec::new();
        for name in NAMES {
            if rng.random_bool(0.75) {
                sections.push(valid_section(&mut rng, name));
            }
        }
        if sections.is_empty() {
            sections.push(valid_section(&mut rng, "fallback"));
        }
        // Break one to three compartments, each in its own way.
        let mut broken = BTreeSet::new();
        let mut breaks = Vec::new();
        for _ in 0..rng.random_range(1..=3usize) {
            let index = rng.random_range(0..sections.len());
            if !broken.insert(index) {
                continue;
            }
            let how = BREAKS[rng.random_range(0..BREAKS.len())];
            apply(&mut rng, &mut sections[index], how);
            breaks.push((sections[index].name.clone(), how));
        }
        let yaml_file = rng.random_bool(0.5);
        let (text, path) = if yaml_file {
            let text = yaml(&sections);
            (text.clone(), dir.write(&format!("case-{case}.yaml"), &text))
        } else {
            let text = toml(&sections);
            (text.clone(), dir.write(&format!("case-{case}.toml"), &text))
        };

        let outcome = std::panic::catch_unwind(|| {
            builder(&[&path], &[])
                .plugin(ProbePlugin::default())
                .build()
        });
        let result = outcome.unwrap_or_else(|_| panic!("case {case} panicked on:\n{text}"));
        let Err(error) = result else {
            panic!("case {case} was accepted: {breaks:?}\n{text}");
        };
        let named: BTreeSet<&str> = error
            .problems()
            .iter()
            .filter_map(|p| p.compartment())
            .collect();
        for (name, how) in &breaks {
            assert!(
                named.contains(name.as_str()),
                "case {case}: {how:?} of `{name}` is not reported; got:\n{error}\n{text}"
            );
        }
        for problem in error.problems() {
            assert!(
                problem.origin().is_some(),
                "case {case}: no source for `{problem}`\n{text}"
            );
            assert!(!problem.message().is_empty());
        }
    }
}
