//! The drawings: shields-style badge files and timelines, as SVG text. Every piece of text in
//! them comes from students or their history, so all of it goes through `escape`.

use crate::render::html::escape;

/// Colours of the right half of a badge, by state (WCAG AA with white text).
fn colour(state: &str) -> &'static str {
    match state {
        "verified" => "#1a7f37",
        "incomplete" => "#9a6700",
        _ => "#57606a",
    }
}

/// Approximate width of text at 11px in the usual sans-serif: good enough for a badge.
fn text_width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if c.is_ascii_uppercase() || c == 'm' || c == 'w' {
                8
            } else {
                6
            }
        })
        .sum::<usize>()
        + 10
}

/// A two-part badge: `label | state`, with an accessible title.
pub(crate) fn badge(label: &str, state: &str) -> String {
    let (lw, rw) = (text_width(label), text_width(state));
    let total = lw + rw;
    let (label_e, state_e) = (escape(label), escape(state));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label_e}: {state_e}"><title>{label_e}: {state_e}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#3d4450"/><rect x="{lw}" width="{rw}" height="20" fill="{fill}"/><rect width="{total}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="{lx}" y="14">{label_e}</text><text x="{rx}" y="14">{state_e}</text></g></svg>
"##,
        fill = colour(state),
        lx = lw / 2,
        rx = lw + rw / 2,
    )
}

/// One point on a timeline.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub time: i64,
    pub label: String,
    /// A CSS class for the marker: `release`, `rehearsal`, `migration`, `smoke`, `flag`, ...
    pub class: &'static str,
}

/// A horizontal timeline with a marker and a label per event, scaled to the span of the events.
/// `date` formats a time for the labels.
pub(crate) fn timeline(title: &str, events: &[Event], date: &dyn Fn(i64) -> String) -> String {
    const WIDTH: f64 = 760.0;
    const MARGIN: f64 = 70.0;
    let mut events: Vec<&Event> = events.iter().collect();
    events.sort_by_key(|e| e.time);
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return String::new();
    };
    let span = (last.time - first.time).max(1) as f64;
    let x = |t: i64| MARGIN + (t - first.time) as f64 / span * (WIDTH - 2.0 * MARGIN);
    let placed = place_labels(&events, &x, WIDTH, date);
    let rows = placed.iter().map(|p| p.row + 1).max().unwrap_or(1);
    let height = 70 + rows * 34;
    let title_e = escape(title);
    let mut svg = format!(
        r#"<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{title_e}"><title>{title_e}</title><line class="axis" x1="{MARGIN}" y1="40" x2="{x2}" y2="40" stroke="currentColor" stroke-width="2"/>"#,
        x2 = WIDTH - MARGIN
    );
    for (event, label) in events.iter().zip(&placed) {
        let cx = x(event.time);
        let y = 70 + label.row * 34;
        svg.push_str(&format!(
            r#"<g class="event {class}"><line x1="{cx:.1}" y1="40" x2="{cx:.1}" y2="{y1}" stroke="currentColor" stroke-opacity=".35"/><circle cx="{cx:.1}" cy="40" r="6"/><text x="{cx:.1}" y="{y}" text-anchor="{anchor}" font-size="13" fill="currentColor">{text}</text><text x="{cx:.1}" y="{y2}" text-anchor="{anchor}" font-size="11" fill="currentColor" fill-opacity=".75">{when}</text></g>"#,
            class = event.class,
            anchor = label.anchor,
            y1 = y - 12,
            y2 = y + 14,
            text = escape(&event.label),
            when = escape(&date(event.time)),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Where one label goes: its row below the axis and its text anchor.
struct Placed {
    row: usize,
    anchor: &'static str,
}

/// Puts each label in the first row where it does not overlap the labels already there, so
/// close events stack downwards instead of printing over each other.
fn place_labels(
    events: &[&Event],
    x: &dyn Fn(i64) -> f64,
    width: f64,
    date: &dyn Fn(i64) -> String,
) -> Vec<Placed> {
    const CHAR_WIDTH: f64 = 7.0;
    const GAP: f64 = 8.0;
    let mut row_ends: Vec<f64> = Vec::new();
    events
        .iter()
        .map(|event| {
            let cx = x(event.time);
            let chars = event
                .label
                .chars()
                .count()
                .max(date(event.time).chars().count());
            let w = chars as f64 * CHAR_WIDTH;
            let (anchor, left) = if cx < width * 0.25 {
                ("start", cx)
            } else if cx > width * 0.75 {
                ("end", cx - w)
            } else {
                ("middle", cx - w / 2.0)
            };
            let row = match row_ends.iter().position(|&end| end + GAP <= left) {
                Some(row) => row,
                None => {
                    row_ends.push(f64::MIN);
                    row_ends.len() - 1
                }
            };
            row_ends[row] = left + w;
            Placed { row, anchor }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badge_is_escaped_and_titled() {
        let svg = badge("<script>", "verified");
        assert!(svg.contains("<title>&lt;script&gt;: verified</title>"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("#1a7f37"));
    }

    #[test]
    fn timeline_places_events_in_order_and_escapes_labels() {
        let events = vec![
            Event {
                time: 100,
                label: "b & <c>".into(),
                class: "flag",
            },
            Event {
                time: 0,
                label: "a".into(),
                class: "release",
            },
        ];
        let svg = timeline("t", &events, &|t| t.to_string());
        assert!(svg.find(">a<").unwrap() < svg.find("b &amp; &lt;c&gt;").unwrap());
        assert!(timeline("t", &[], &|t| t.to_string()).is_empty());
    }

    #[test]
    fn close_labels_stack_in_rows() {
        let close: Vec<Event> = (0..3)
            .map(|i| Event {
                time: 1000 + i,
                label: format!("event {i}"),
                class: "flag",
            })
            .chain(std::iter::once(Event {
                time: 0,
                label: "start".into(),
                class: "release",
            }))
            .collect();
        let svg = timeline("t", &close, &|t| t.to_string());
        let rows: std::collections::BTreeSet<&str> = svg
            .match_indices("font-size=\"13\"")
            .map(|(i, _)| &svg[svg[..i].rfind(" y=").unwrap()..i])
            .collect();
        assert!(rows.len() >= 3, "labels share rows: {svg}");
    }
}
