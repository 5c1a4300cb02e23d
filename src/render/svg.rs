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

/// The drawing's width in user units; the SVG scales to its container (`viewBox`, width 100%).
const WIDTH: f64 = 760.0;
/// Where the axis starts and ends.
const MARGIN: f64 = 70.0;
/// The axis's height, and the first label row's baseline; each further row is lower.
const AXIS_Y: f64 = 40.0;
const FIRST_ROW_Y: f64 = 70.0;
const ROW_HEIGHT: f64 = 34.0;
/// Approximate width of one character of a label (13 px sans-serif).
const CHAR_WIDTH: f64 = 7.0;
/// Space between two labels in a row.
const GAP: f64 = 8.0;
/// A label anchored at its start or end begins this far from its leader line, so that another
/// event at the same time can pass beside it.
const PAD: f64 = 4.0;
/// A leader line keeps at least this far from another label.
const CLEAR: f64 = 2.0;

/// A horizontal timeline with a marker and a label per event, scaled to the span of the events.
/// `date` formats a time for the labels. Labels are laid out by [`layout`] so that no two
/// overlap and no leader line (marker to label) crosses another label; the `viewBox` grows to
/// hold a label that had to go past an end.
pub(crate) fn timeline(title: &str, events: &[Event], date: &dyn Fn(i64) -> String) -> String {
    let mut events: Vec<&Event> = events.iter().collect();
    events.sort_by_key(|e| e.time);
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return String::new();
    };
    let span = (last.time - first.time).max(1) as f64;
    let x = |t: i64| MARGIN + (t - first.time) as f64 / span * (WIDTH - 2.0 * MARGIN);
    let labels: Vec<(f64, f64)> = events
        .iter()
        .map(|e| {
            let chars = e.label.chars().count().max(date(e.time).chars().count());
            (x(e.time), chars as f64 * CHAR_WIDTH)
        })
        .collect();
    let placed = layout(&labels);
    let rows = placed.iter().map(|p| p.row + 1).max().unwrap_or(1);
    let height = FIRST_ROW_Y as usize + rows * ROW_HEIGHT as usize;
    let left = placed.iter().map(|p| p.left - PAD).fold(0.0, f64::min);
    let right = placed.iter().map(|p| p.right + PAD).fold(WIDTH, f64::max);
    let title_e = escape(title);
    let mut svg = format!(
        r#"<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="{left:.0} 0 {w:.0} {height}" width="100%" role="img" aria-label="{title_e}"><title>{title_e}</title><line class="axis" x1="{MARGIN}" y1="{AXIS_Y}" x2="{x2}" y2="{AXIS_Y}" stroke="currentColor" stroke-width="2"/>"#,
        w = (right - left).ceil(),
        x2 = WIDTH - MARGIN
    );
    for (event, label) in events.iter().zip(&placed) {
        let y = label.baseline();
        svg.push_str(&format!(
            r#"<g class="event {class}"><line x1="{cx:.1}" y1="{AXIS_Y}" x2="{cx:.1}" y2="{y1}" stroke="currentColor" stroke-opacity=".35"/><circle cx="{cx:.1}" cy="{AXIS_Y}" r="6"/><text x="{tx:.1}" y="{y}" text-anchor="{anchor}" font-size="13" fill="currentColor">{text}</text><text x="{tx:.1}" y="{y2}" text-anchor="{anchor}" font-size="11" fill="currentColor" fill-opacity=".75">{when}</text></g>"#,
            class = event.class,
            cx = label.cx,
            tx = label.text_x,
            anchor = label.anchor.svg(),
            y1 = y - 12.0,
            y2 = y + 14.0,
            text = escape(&event.label),
            when = escape(&date(event.time)),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Which side of its leader line a label's text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    /// The text begins just right of the line.
    Start,
    /// Centred under the line.
    Middle,
    /// The text ends just left of the line.
    End,
}

impl Anchor {
    fn svg(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }

    /// The label's text x and its box's left and right for a label `w` wide on a line at `cx`.
    fn place(self, cx: f64, w: f64) -> (f64, f64, f64) {
        match self {
            Anchor::Start => (cx + PAD, cx + PAD, cx + PAD + w),
            Anchor::Middle => (cx, cx - w / 2.0, cx + w / 2.0),
            Anchor::End => (cx - PAD, cx - PAD - w, cx - PAD),
        }
    }
}

/// Where one label went: its row below the axis, its anchor and its box.
#[derive(Debug, Clone, Copy)]
struct Placed {
    /// Its event's x: the marker and the leader line.
    cx: f64,
    row: usize,
    anchor: Anchor,
    text_x: f64,
    left: f64,
    right: f64,
}

impl Placed {
    fn baseline(&self) -> f64 {
        FIRST_ROW_Y + self.row as f64 * ROW_HEIGHT
    }

    /// Whether a vertical line at `x` would run through the box (or within [`CLEAR`] of it).
    fn covers(&self, x: f64) -> bool {
        self.left - CLEAR < x && x < self.right + CLEAR
    }
}

/// Lays out labels, given each event's x and its label's width (in time order, so x ascending):
/// no two labels overlap and no leader line crosses another label. Labels are placed one by one,
/// forwards in time and, separately, backwards; the layout that stays inside the drawing (else
/// reaches out least), then uses fewer rows, wins.
fn layout(labels: &[(f64, f64)]) -> Vec<Placed> {
    let forward: Vec<usize> = (0..labels.len()).collect();
    let backward: Vec<usize> = (0..labels.len()).rev().collect();
    let overflow = |placed: &[Placed]| {
        placed
            .iter()
            .map(|p| (-p.left).max(p.right - WIDTH).max(0.0))
            .sum::<f64>()
            .ceil() as i64
    };
    let rows = |placed: &[Placed]| placed.iter().map(|p| p.row).max().unwrap_or(0);
    [
        place_in_order(labels, &forward, Anchor::End),
        place_in_order(labels, &backward, Anchor::Start),
    ]
    .into_iter()
    .min_by_key(|placed| (overflow(placed), rows(placed)))
    .unwrap_or_default()
}

/// Places the labels in `order`. Each takes the first row (nearest the axis) and side where it
/// overlaps no label of that row, its box covers no leader line that passes through the row
/// (the line of an event placed lower, or of one not placed yet), and its own leader line
/// crosses no label above it. The side nearest the drawing's middle is tried first, inside the
/// drawing.
///
/// There is always such a place: a new bottom row with the text on the `fallback` side, away
/// from every event still to place (all at or before it in `order`'s direction), since the labels
/// above were kept clear of its line when they were placed. That place may reach past an end of
/// the drawing.
fn place_in_order(labels: &[(f64, f64)], order: &[usize], fallback: Anchor) -> Vec<Placed> {
    let mut placed: Vec<Option<Placed>> = vec![None; labels.len()];
    for (step, &i) in order.iter().enumerate() {
        let (cx, w) = labels[i];
        let unplaced: Vec<f64> = order[step + 1..].iter().map(|&j| labels[j].0).collect();
        let done: Vec<Placed> = placed.iter().flatten().copied().collect();
        let fits = |p: &Placed| {
            let row_free = done
                .iter()
                .filter(|q| q.row == p.row)
                .all(|q| p.right + GAP <= q.left || q.right + GAP <= p.left);
            let lines_clear = unplaced.iter().all(|&x| !p.covers(x))
                && done
                    .iter()
                    .filter(|q| q.row > p.row)
                    .all(|q| !p.covers(q.cx));
            let own_line_clear = done.iter().filter(|q| q.row < p.row).all(|q| !q.covers(cx));
            row_free && lines_clear && own_line_clear
        };
        let inside = |p: &Placed| p.left >= 0.0 && p.right <= WIDTH;
        let candidate = |row: usize, anchor: Anchor| {
            let (text_x, left, right) = anchor.place(cx, w);
            Placed {
                cx,
                row,
                anchor,
                text_x,
                left,
                right,
            }
        };
        let new_row = done.iter().map(|p| p.row + 1).max().unwrap_or(0);
        let found = (0..=new_row)
            .flat_map(|row| preferred(cx).map(|anchor| candidate(row, anchor)))
            .find(|p| inside(p) && fits(p))
            .unwrap_or_else(|| candidate(new_row, fallback));
        placed[i] = Some(found);
    }
    placed.into_iter().flatten().collect()
}

/// The sides to try for a label on a line at `cx`, best first: text towards the middle.
fn preferred(cx: f64) -> [Anchor; 3] {
    if cx < WIDTH * 0.25 {
        [Anchor::Start, Anchor::Middle, Anchor::End]
    } else if cx > WIDTH * 0.75 {
        [Anchor::End, Anchor::Middle, Anchor::Start]
    } else {
        [Anchor::Middle, Anchor::End, Anchor::Start]
    }
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

    /// A label's box above and below its baseline (the label, then its date line).
    const BOX_ABOVE: f64 = 13.0;
    const BOX_BELOW: f64 = 17.0;

    /// Every crossing of a leader line (from below the marker to its label's top) through
    /// another label's box, and every pair of overlapping labels in a row.
    fn collisions(placed: &[Placed]) -> Vec<String> {
        let mut found = Vec::new();
        for (i, a) in placed.iter().enumerate() {
            let line = (AXIS_Y + 6.0, a.baseline() - 12.0);
            for (j, b) in placed.iter().enumerate().filter(|(j, _)| *j != i) {
                let (top, bottom) = (b.baseline() - BOX_ABOVE, b.baseline() + BOX_BELOW);
                let within = b.left < a.cx && a.cx < b.right;
                if within && line.0 < bottom && top < line.1 {
                    found.push(format!("the line of {i} crosses label {j}: {a:?} {b:?}"));
                }
                if j > i && a.row == b.row && a.left < b.right && b.left < a.right {
                    found.push(format!("labels {i} and {j} overlap: {a:?} {b:?}"));
                }
            }
        }
        found
    }

    #[test]
    fn leader_lines_never_cross_other_labels_on_a_crowded_timeline() {
        // A semester: releases every few days, bursts of evidence on the same days, and labels
        // of every length; and a few pathological ones.
        let mut seed: u64 = 42;
        let mut next = move |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        let mut layouts: Vec<Vec<(f64, f64)>> = Vec::new();
        for count in [2, 5, 9, 14, 20, 30] {
            let mut labels: Vec<(f64, f64)> = (0..count)
                .map(|_| {
                    let x = MARGIN + next(621) as f64;
                    (x, (6 + next(30)) as f64 * CHAR_WIDTH)
                })
                .collect();
            labels.sort_by(|a, b| a.0.total_cmp(&b.0));
            layouts.push(labels);
        }
        // Everything at one instant; and all of it at the far left with long labels.
        layouts.push(vec![(380.0, 140.0); 6]);
        layouts.push((0..8).map(|i| (MARGIN + i as f64, 200.0)).collect());
        layouts.push(
            (0..8)
                .map(|i| (WIDTH - MARGIN - i as f64, 200.0))
                .rev()
                .collect(),
        );
        for labels in &layouts {
            let placed = layout(labels);
            let problems = collisions(&placed);
            assert!(problems.is_empty(), "{labels:?}:\n{}", problems.join("\n"));
        }
    }

    #[test]
    fn a_sparse_timeline_keeps_its_labels_on_one_row_inside_the_drawing() {
        let labels = [(MARGIN, 60.0), (380.0, 60.0), (WIDTH - MARGIN, 60.0)];
        let placed = layout(&labels);
        assert!(placed.iter().all(|p| p.row == 0), "{placed:?}");
        assert!(placed.iter().all(|p| p.left >= 0.0 && p.right <= WIDTH));
        assert_eq!(placed[0].anchor, Anchor::Start);
        assert_eq!(placed[2].anchor, Anchor::End);
        // A flag's lifetime: two close events at the start with long labels stack inside the
        // drawing (placed backwards) instead of reaching past its left end.
        let flag = [(70.0, 112.0), (106.5, 154.0), (406.6, 70.0), (690.0, 49.0)];
        let placed = layout(&flag);
        assert!(collisions(&placed).is_empty());
        assert!(
            placed.iter().all(|p| p.left >= 0.0 && p.right <= WIDTH),
            "{placed:?}"
        );
        assert_eq!(placed.iter().map(|p| p.row).max(), Some(1));
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
