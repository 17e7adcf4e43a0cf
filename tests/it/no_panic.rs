//! Loading never panics, whatever the files hold: every prefix of the example site's YAML and
//! templates, and a few thousand deterministic single-character mutations of them, load either
//! into a site or into diagnostics.

use std::path::Path;

use trellis::Site;

const SITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sites/greetings");

fn copy_site(to: &Path) {
    fn walk(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            let p = e.path();
            let dest = to.join(e.file_name());
            if p.is_dir() {
                walk(&p, &dest);
            } else {
                std::fs::copy(&p, &dest).unwrap();
            }
        }
    }
    walk(Path::new(SITE), to);
}

/// Load the site with `file` replaced by each of `variants`; diagnostics must name a file.
fn load_variants(file: &str, variants: impl Iterator<Item = String>) -> usize {
    let dir = tempfile::tempdir().unwrap();
    copy_site(dir.path());
    let mut failures = 0;
    for text in variants {
        std::fs::write(dir.path().join(file), &text).unwrap();
        if let Err(errors) = Site::load(dir.path()) {
            assert!(
                !errors.is_empty(),
                "an error result with no diagnostics for:\n{text}"
            );
            failures += 1;
        }
    }
    failures
}

fn prefixes(text: &str) -> impl Iterator<Item = String> + '_ {
    text.char_indices()
        .map(move |(i, _)| text[..i].to_string())
        .chain(std::iter::once(text.to_string()))
}

fn mutations(text: &str, count: usize) -> Vec<String> {
    const INSERTS: &[char] = &[
        ':', '-', '{', '}', '"', '\'', '<', '>', '[', ']', '\t', '\n', '%', '&', '*', '#', '|',
        'é', '\\',
    ];
    let chars: Vec<char> = text.chars().collect();
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let mut c = chars.clone();
            let at = (next() as usize) % c.len();
            let ch = INSERTS[(next() as usize) % INSERTS.len()];
            match next() % 3 {
                0 => c[at] = ch,
                1 => c.insert(at, ch),
                _ => {
                    c.remove(at);
                }
            }
            c.into_iter().collect()
        })
        .collect()
}

#[test]
fn every_prefix_of_the_yaml_loads_or_reports() {
    for file in ["site.yaml", "greetings.yaml"] {
        let text = std::fs::read_to_string(Path::new(SITE).join(file)).unwrap();
        let failed = load_variants(file, prefixes(&text));
        // The empty prefix of greetings.yaml is an empty routes list, which loads.
        assert!(
            failed > 0,
            "{file}: no prefix failed to load, so nothing was tested"
        );
    }
}

#[test]
fn mutated_yaml_and_templates_load_or_report() {
    for (file, n) in [
        ("site.yaml", 300),
        ("greetings.yaml", 300),
        ("templates/layouts/base.hbs", 150),
        ("templates/search.hbs", 150),
    ] {
        let text = std::fs::read_to_string(Path::new(SITE).join(file)).unwrap();
        load_variants(file, mutations(&text, n).into_iter());
    }
}
