//! The dashboard's daily chart, drawn on the server as an SVG image: orders
//! received, invoices sent and failures as bars on a count axis, and the
//! failure rate as a line on a 0–100 % axis.
//!
//! The image has a `viewBox` and no fixed size, so it scales to the width
//! of its container. It uses no script, external font or stylesheet, only
//! presentation attributes, and escapes every text and attribute value.
//!
//! NOTE: text scales with the image, so in a container narrower than about
//! 600 px the 14-unit labels render below 9 px. A container with a minimum
//! width that scrolls sideways on phones would keep them readable.

use std::fmt::{self, Display, Write as _};

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// The counts of one day, as the chart draws them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartDay {
    pub date: NaiveDate,
    pub orders_received: u64,
    pub orders_failed: u64,
    pub invoices_sent: u64,
    pub invoices_failed: u64,
    /// Failed orders as a percentage (0 to 100) of the orders that reached
    /// an outcome, or `None` when none did.
    pub failure_rate: Option<Decimal>,
}

/// The image's short name, in its `<title>`.
const TITLE: &str = "Orders & invoices per day";

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 384.0;
const PLOT_LEFT: f64 = 64.0;
const PLOT_RIGHT: f64 = 888.0;
const PLOT_TOP: f64 = 24.0;
const PLOT_BOTTOM: f64 = 296.0;
const PLOT_HEIGHT: f64 = PLOT_BOTTOM - PLOT_TOP;
const BAR_WIDTH: f64 = 6.0;
const FONT: &str = "system-ui, -apple-system, 'Segoe UI', sans-serif";
const FONT_SIZE: &str = "14";
/// Days between date labels on the horizontal axis, counted back from the
/// last day so that it is always labelled.
const LABEL_EVERY: usize = 7;

/// One series of the chart: its class, legend text and colour. Blue, green
/// and vermilion are from the Okabe–Ito palette, chosen to stay distinct
/// with colour-blindness, and every colour has at least 3:1 contrast with
/// white.
struct Series {
    class: &'static str,
    label: &'static str,
    colour: &'static str,
}

const RECEIVED: Series = Series {
    class: "bar received",
    label: "Orders received",
    colour: "#0072B2",
};
const SENT: Series = Series {
    class: "bar invoices-sent",
    label: "Invoices sent",
    colour: "#009E73",
};
const ORDERS_FAILED: Series = Series {
    class: "bar orders-failed",
    label: "Orders failed",
    colour: "#D55E00",
};
const INVOICES_FAILED: Series = Series {
    class: "bar invoices-failed",
    label: "Invoices failed",
    colour: "#8C510A",
};
const RATE: Series = Series {
    class: "rate-line",
    label: "Failure rate (right axis)",
    colour: "#6A3D9A",
};

/// Draws the chart of `points`, oldest day first. Days without orders or
/// invoices draw no bars, and days without a failure rate break its line.
/// When every count is zero and no day has a rate, a message takes the
/// place of the bars.
pub fn daily_chart(points: &[ChartDay]) -> String {
    let scale = count_scale(max_count(points));
    let summary = summary(points);
    let view_box = format!("0 0 {} {}", Coord(WIDTH), Coord(HEIGHT));
    let mut svg = Svg::default();
    svg.open(
        "svg",
        &[
            ("xmlns", &"http://www.w3.org/2000/svg"),
            ("viewBox", &view_box),
            ("width", &"100%"),
            ("preserveAspectRatio", &"xMidYMid meet"),
            ("role", &"img"),
            ("aria-label", &summary),
            ("font-family", &FONT),
            ("font-size", &FONT_SIZE),
        ],
    );
    svg.text_element("title", &[], TITLE);
    svg.text_element("desc", &[], &summary);

    draw_count_axis(&mut svg, scale);
    draw_rate_axis(&mut svg);
    draw_date_axis(&mut svg, points);
    if is_empty(points) {
        draw_empty_message(&mut svg, points.len());
    } else {
        draw_bars(&mut svg, points, scale);
        draw_rate_line(&mut svg, points);
    }
    draw_legend(&mut svg);
    svg.close("svg");
    svg.out
}

/// The count axis: its top value and the step between its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scale {
    top: u64,
    step: u64,
}

/// Returns the smallest of 1, 2 or 5 times a power of ten that is at least
/// `max` (and at least 1), with a step that gives two to six labels. Past
/// the largest such `u64`, the axis ends at `max` itself.
fn count_scale(max: u64) -> Scale {
    let max = max.max(1);
    let mut power: u64 = 1;
    loop {
        for (mantissa, step_tenths) in [(1, 2), (2, 5), (5, 10)] {
            let top = mantissa * power;
            if top >= max {
                let step = (step_tenths * power / 10).max(1);
                return Scale { top, step };
            }
        }
        match power.checked_mul(50) {
            Some(_) => power *= 10,
            None => {
                return Scale {
                    top: max,
                    step: max,
                }
            }
        }
    }
}

/// Returns the tallest bar's count: the largest of any day's orders
/// received, invoices sent, or orders and invoices failed together.
fn max_count(points: &[ChartDay]) -> u64 {
    points
        .iter()
        .map(|day| {
            let failed = day.orders_failed.saturating_add(day.invoices_failed);
            day.orders_received.max(day.invoices_sent).max(failed)
        })
        .max()
        .unwrap_or(0)
}

fn is_empty(points: &[ChartDay]) -> bool {
    max_count(points) == 0 && points.iter().all(|day| day.failure_rate.is_none())
}

/// Returns the sentence screen readers announce: the date range and totals.
fn summary(points: &[ChartDay]) -> String {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return format!("{TITLE}: no days to show.");
    };
    let total = |count: fn(&ChartDay) -> u64| points.iter().map(count).sum::<u64>();
    format!(
        "{TITLE}, {} to {}: {} orders received, {} invoices sent, {} orders failed, \
         {} invoices failed.",
        first.date.format("%-d %b %Y"),
        last.date.format("%-d %b %Y"),
        total(|day| day.orders_received),
        total(|day| day.invoices_sent),
        total(|day| day.orders_failed),
        total(|day| day.invoices_failed),
    )
}

/// Returns the vertical position of `value` on an axis whose top is `top`.
fn y_of(value: f64, top: f64) -> f64 {
    PLOT_BOTTOM - value / top * PLOT_HEIGHT
}

/// Returns the horizontal centre of day `index` of `days`.
fn x_of(index: usize, days: usize) -> f64 {
    let slot = (PLOT_RIGHT - PLOT_LEFT) / days.max(1) as f64;
    PLOT_LEFT + slot * (index as f64 + 0.5)
}

/// Draws the count labels on the left, each with a grid line across.
fn draw_count_axis(svg: &mut Svg, scale: Scale) {
    svg.open("g", &[("class", &"count-axis")]);
    let mut value = 0;
    while value <= scale.top {
        let y = Coord(y_of(value as f64, scale.top as f64));
        svg.empty(
            "line",
            &[
                ("x1", &Coord(PLOT_LEFT)),
                ("x2", &Coord(PLOT_RIGHT)),
                ("y1", &y),
                ("y2", &y),
                ("stroke", &"#d9d9d9"),
            ],
        );
        let label = [
            ("x", &Coord(PLOT_LEFT - 8.0) as &dyn Display),
            ("y", &y),
            ("text-anchor", &"end"),
            ("dominant-baseline", &"middle"),
        ];
        svg.text_element("text", &label, &value.to_string());
        value += scale.step;
    }
    let title = [
        ("x", &Coord(16.0) as &dyn Display),
        ("y", &Coord(PLOT_TOP - 8.0)),
    ];
    svg.text_element("text", &title, "Count");
    svg.close("g");
}

fn draw_rate_axis(svg: &mut Svg) {
    svg.open("g", &[("class", &"rate-axis")]);
    for percent in [0, 25, 50, 75, 100] {
        let label = [
            ("x", &Coord(PLOT_RIGHT + 8.0) as &dyn Display),
            ("y", &Coord(y_of(f64::from(percent), 100.0))),
            ("dominant-baseline", &"middle"),
            ("fill", &RATE.colour),
        ];
        svg.text_element("text", &label, &format!("{percent} %"));
    }
    svg.close("g");
}

/// Draws the baseline and a date under every [`LABEL_EVERY`]th day.
fn draw_date_axis(svg: &mut Svg, points: &[ChartDay]) {
    svg.open("g", &[("class", &"date-axis")]);
    svg.empty(
        "line",
        &[
            ("x1", &Coord(PLOT_LEFT)),
            ("x2", &Coord(PLOT_RIGHT)),
            ("y1", &Coord(PLOT_BOTTOM)),
            ("y2", &Coord(PLOT_BOTTOM)),
            ("stroke", &"#595959"),
        ],
    );
    for (index, day) in points.iter().enumerate() {
        if (points.len() - 1 - index) % LABEL_EVERY != 0 {
            continue;
        }
        let label = [
            ("x", &Coord(x_of(index, points.len())) as &dyn Display),
            ("y", &Coord(PLOT_BOTTOM + 22.0)),
            ("text-anchor", &"middle"),
        ];
        svg.text_element("text", &label, &day.date.format("%-d %b").to_string());
    }
    svg.close("g");
}

fn draw_empty_message(svg: &mut Svg, days: usize) {
    let message = match days {
        0 => "No orders to show".to_owned(),
        1 => "No orders today".to_owned(),
        days => format!("No orders in the last {days} days"),
    };
    let attributes = [
        ("class", &"empty" as &dyn Display),
        ("x", &Coord((PLOT_LEFT + PLOT_RIGHT) / 2.0)),
        ("y", &Coord((PLOT_TOP + PLOT_BOTTOM) / 2.0)),
        ("text-anchor", &"middle"),
        ("font-size", &"20"),
        ("fill", &"#595959"),
    ];
    svg.text_element("text", &attributes, &message);
}

/// Draws per day, side by side, the received bar, the sent bar and the
/// failures bar, where invoices failed stand on orders failed.
fn draw_bars(svg: &mut Svg, points: &[ChartDay], scale: Scale) {
    svg.open("g", &[("class", &"bars")]);
    for (index, day) in points.iter().enumerate() {
        let centre = x_of(index, points.len());
        let bar = |series: &'static Series, slot: f64, base: u64, value: u64| Bar {
            series,
            day,
            x: centre + (slot - 1.5) * BAR_WIDTH,
            base,
            value,
        };
        let bars = [
            bar(&RECEIVED, 0.0, 0, day.orders_received),
            bar(&SENT, 1.0, 0, day.invoices_sent),
            bar(&ORDERS_FAILED, 2.0, 0, day.orders_failed),
            bar(
                &INVOICES_FAILED,
                2.0,
                day.orders_failed,
                day.invoices_failed,
            ),
        ];
        for bar in bars.iter().filter(|bar| bar.value > 0) {
            bar.draw(svg, scale);
        }
    }
    svg.close("g");
}

/// One bar of `series` on `day`: `value` drawn upwards from `base`.
struct Bar<'a> {
    series: &'static Series,
    day: &'a ChartDay,
    x: f64,
    base: u64,
    value: u64,
}

impl Bar<'_> {
    fn draw(&self, svg: &mut Svg, scale: Scale) {
        let top = scale.top as f64;
        let bottom = y_of(self.base as f64, top);
        let upper = y_of(self.base.saturating_add(self.value) as f64, top);
        svg.open(
            "rect",
            &[
                ("class", &self.series.class),
                ("x", &Coord(self.x)),
                ("y", &Coord(upper)),
                ("width", &Coord(BAR_WIDTH)),
                ("height", &Coord(bottom - upper)),
                ("fill", &self.series.colour),
            ],
        );
        let label = self.series.label.to_lowercase();
        let tip = format!("{}: {} {label}", self.day.date, self.value);
        svg.text_element("title", &[], &tip);
        svg.close("rect");
    }
}

/// Draws the failure rate as a line through the days that have one, broken
/// where a day has none, with a point on each such day.
fn draw_rate_line(svg: &mut Svg, points: &[ChartDay]) {
    let mut path = String::new();
    let mut previous_missing = true;
    let mut marks = Vec::new();
    for (index, day) in points.iter().enumerate() {
        let Some(rate) = day.failure_rate else {
            previous_missing = true;
            continue;
        };
        let percent = rate.to_f64().unwrap_or(0.0).clamp(0.0, 100.0);
        let (x, y) = (
            Coord(x_of(index, points.len())),
            Coord(y_of(percent, 100.0)),
        );
        let command = if previous_missing { 'M' } else { 'L' };
        // `fmt::Write` for `String` never returns an error.
        let _ = write!(path, "{command}{x} {y} ");
        previous_missing = false;
        marks.push((x, y, day.date, rate));
    }
    if marks.is_empty() {
        return;
    }

    svg.open("g", &[("class", &"rate")]);
    svg.empty(
        "path",
        &[
            ("class", &RATE.class),
            ("d", &path.trim_end()),
            ("fill", &"none"),
            ("stroke", &RATE.colour),
            ("stroke-width", &"2"),
        ],
    );
    for (x, y, date, rate) in marks {
        let point = [
            ("class", &"rate-point" as &dyn Display),
            ("cx", &x),
            ("cy", &y),
            ("r", &"3.5"),
            ("fill", &RATE.colour),
        ];
        svg.open("circle", &point);
        svg.text_element("title", &[], &format!("{date}: failure rate {rate} %"));
        svg.close("circle");
    }
    svg.close("g");
}

/// Draws one swatch and label per series in a row under the date axis.
fn draw_legend(svg: &mut Svg) {
    svg.open("g", &[("class", &"legend")]);
    let entries = [&RECEIVED, &SENT, &ORDERS_FAILED, &INVOICES_FAILED, &RATE];
    let y = PLOT_BOTTOM + 64.0;
    for (index, series) in entries.iter().enumerate() {
        let x = PLOT_LEFT + 160.0 * index as f64;
        svg.empty(
            "rect",
            &[
                ("x", &Coord(x)),
                ("y", &Coord(y - 11.0)),
                ("width", &Coord(12.0)),
                ("height", &Coord(12.0)),
                ("fill", &series.colour),
            ],
        );
        let label = [("x", &Coord(x + 18.0) as &dyn Display), ("y", &Coord(y))];
        svg.text_element("text", &label, series.label);
    }
    svg.close("g");
}

/// A coordinate, written with at most one decimal place.
#[derive(Debug, Clone, Copy)]
struct Coord(f64);

impl Display for Coord {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format!("{:.1}", self.0);
        formatter.write_str(text.strip_suffix(".0").unwrap_or(&text))
    }
}

/// Attribute names with their values, written in order.
type Attributes<'a> = [(&'a str, &'a dyn Display)];

/// Writes SVG markup, escaping every attribute value and text.
#[derive(Default)]
struct Svg {
    out: String,
}

impl Svg {
    fn open(&mut self, name: &str, attributes: &Attributes<'_>) {
        self.start_tag(name, attributes);
        self.out.push('>');
    }

    fn empty(&mut self, name: &str, attributes: &Attributes<'_>) {
        self.start_tag(name, attributes);
        self.out.push_str("/>");
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn text_element(&mut self, name: &str, attributes: &Attributes<'_>, text: &str) {
        self.open(name, attributes);
        self.out.push_str(&escape(text));
        self.close(name);
    }

    fn start_tag(&mut self, name: &str, attributes: &Attributes<'_>) {
        self.out.push('<');
        self.out.push_str(name);
        for (attribute, value) in attributes {
            self.out.push(' ');
            self.out.push_str(attribute);
            self.out.push_str("=\"");
            self.out.push_str(&escape(&value.to_string()));
            self.out.push('"');
        }
    }
}

/// Escapes the characters XML gives a meaning, in text and in attribute
/// values quoted with `"`.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use quick_xml::events::{BytesStart, Event};
    use quick_xml::Reader;

    use super::*;

    /// One parsed element with its attributes, its own text and the text
    /// of its `<title>` child.
    #[derive(Debug)]
    struct Element {
        name: String,
        attributes: HashMap<String, String>,
        text: String,
        title: String,
    }

    impl Element {
        fn attribute(&self, name: &str) -> &str {
            self.attributes
                .get(name)
                .unwrap_or_else(|| panic!("<{}> has no {name}: {self:?}", self.name))
        }

        fn number(&self, name: &str) -> f64 {
            self.attribute(name).parse().unwrap()
        }

        fn has_class(&self, class: &str) -> bool {
            self.attributes
                .get("class")
                .is_some_and(|classes| classes.split(' ').any(|name| name == class))
        }
    }

    /// Parses `svg` as XML, failing on any error, and returns its elements
    /// in document order.
    fn parse(svg: &str) -> Vec<Element> {
        let mut reader = Reader::from_str(svg);
        let mut elements = Vec::new();
        let mut open = Vec::new();
        loop {
            match reader.read_event().unwrap() {
                Event::Start(start) => {
                    elements.push(element(&start));
                    open.push(elements.len() - 1);
                }
                Event::Empty(start) => elements.push(element(&start)),
                Event::Text(text) => {
                    let parent = *open.last().expect("text outside the root");
                    elements[parent].text.push_str(&text.unescape().unwrap());
                }
                Event::End(_) => {
                    let closed = open.pop().expect("end tag without a start tag");
                    if let (Some(parent), "title") = (open.last(), elements[closed].name.as_str()) {
                        elements[*parent].title = elements[closed].text.clone();
                    }
                }
                Event::Eof => break,
                other => panic!("unexpected XML event {other:?}"),
            }
        }
        assert!(open.is_empty(), "unclosed elements");
        elements
    }

    fn element(start: &BytesStart<'_>) -> Element {
        let attributes = start
            .attributes()
            .map(|attribute| {
                let attribute = attribute.unwrap();
                let name = String::from_utf8(attribute.key.as_ref().to_vec()).unwrap();
                (name, attribute.unescape_value().unwrap().into_owned())
            })
            .collect();
        Element {
            name: String::from_utf8(start.name().as_ref().to_vec()).unwrap(),
            attributes,
            text: String::new(),
            title: String::new(),
        }
    }

    fn with_class<'a>(elements: &'a [Element], class: &str) -> Vec<&'a Element> {
        elements
            .iter()
            .filter(|element| element.has_class(class))
            .collect()
    }

    /// Returns the texts of the `<text>` elements inside the group `class`.
    fn group_texts(svg: &str, class: &str) -> Vec<String> {
        let mut reader = Reader::from_str(svg);
        let mut depth_in_group: Option<usize> = None;
        let mut depth = 0;
        let mut in_text = false;
        let mut texts = Vec::new();
        loop {
            match reader.read_event().unwrap() {
                Event::Start(start) => {
                    depth += 1;
                    let parsed = element(&start);
                    if parsed.name == "g" && parsed.has_class(class) {
                        depth_in_group = Some(depth);
                    }
                    in_text = parsed.name == "text" && depth_in_group.is_some();
                }
                Event::Text(text) if in_text => texts.push(text.unescape().unwrap().into_owned()),
                Event::End(_) => {
                    if depth_in_group == Some(depth) {
                        depth_in_group = None;
                    }
                    depth -= 1;
                    in_text = false;
                }
                Event::Eof => break,
                _ => {}
            }
        }
        texts
    }

    fn day(index: i64, counts: [u64; 4], rate: Option<i64>) -> ChartDay {
        let first = NaiveDate::from_ymd_opt(2024, 4, 11).unwrap();
        let [orders_received, invoices_sent, orders_failed, invoices_failed] = counts;
        ChartDay {
            date: first + chrono::Duration::days(index),
            orders_received,
            orders_failed,
            invoices_sent,
            invoices_failed,
            failure_rate: rate.map(Decimal::from),
        }
    }

    /// Thirty days, counts on days 0, 1, 5, 7 and 29 only. The tallest
    /// bar is 7, so the count axis ends at 10.
    fn month() -> Vec<ChartDay> {
        let mut days: Vec<ChartDay> = (0..30).map(|index| day(index, [0; 4], None)).collect();
        days[0] = day(0, [3, 1, 1, 0], Some(50));
        days[1] = day(1, [0, 0, 0, 0], Some(25));
        days[5] = day(5, [7, 0, 2, 1], Some(100));
        days[7] = day(7, [0, 4, 0, 2], Some(0));
        days[29] = day(29, [1, 0, 0, 0], None);
        days
    }

    /// Asserts that `actual` is within rounding to one decimal of `expected`.
    #[track_caller]
    fn assert_near(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() <= 0.051,
            "{actual} is not {expected}"
        );
    }

    #[test]
    fn scale_ends_at_one_two_or_five() {
        let cases = [
            (0, 1, 1),
            (1, 1, 1),
            (2, 2, 1),
            (3, 5, 1),
            (5, 5, 1),
            (6, 10, 2),
            (10, 10, 2),
            (11, 20, 5),
            (21, 50, 10),
            (51, 100, 20),
            (999, 1000, 200),
        ];
        for (max, top, step) in cases {
            assert_eq!(count_scale(max), Scale { top, step }, "max {max}");
        }
        let past_powers = Scale {
            top: u64::MAX,
            step: u64::MAX,
        };
        assert_eq!(count_scale(u64::MAX), past_powers);
    }

    #[test]
    fn bars_match_the_counts() {
        let svg = daily_chart(&month());
        let elements = parse(&svg);

        let received = with_class(&elements, "received");
        let heights: Vec<f64> = received.iter().map(|bar| bar.number("height")).collect();
        assert_eq!(heights.len(), 3);
        for (height, count) in heights.iter().zip([3.0, 7.0, 1.0]) {
            assert_near(*height, count / 10.0 * PLOT_HEIGHT);
        }
        for bar in &received {
            assert_near(bar.number("y") + bar.number("height"), PLOT_BOTTOM);
        }

        let sent = with_class(&elements, "invoices-sent");
        assert_eq!(sent.len(), 2);
        assert_near(sent[0].number("height"), 0.1 * PLOT_HEIGHT);
        assert_near(sent[1].number("height"), 0.4 * PLOT_HEIGHT);
        assert_eq!(sent[1].title, "2024-04-18: 4 invoices sent");
    }

    #[test]
    fn invoice_failures_stand_on_order_failures() {
        let elements = parse(&daily_chart(&month()));

        let orders = with_class(&elements, "orders-failed");
        let invoices = with_class(&elements, "invoices-failed");
        assert_eq!(orders.len(), 2);
        assert_eq!(invoices.len(), 2);
        // Day 5: 2 orders and 1 invoice failed, in one column.
        assert_near(orders[1].number("height"), 0.2 * PLOT_HEIGHT);
        assert_near(invoices[0].number("height"), 0.1 * PLOT_HEIGHT);
        assert_eq!(invoices[0].number("x"), orders[1].number("x"));
        assert_near(
            invoices[0].number("y") + invoices[0].number("height"),
            orders[1].number("y"),
        );
        // Day 7: 2 invoices and no orders failed, so they stand on the axis.
        assert_near(
            invoices[1].number("y") + invoices[1].number("height"),
            PLOT_BOTTOM,
        );
    }

    #[test]
    fn day_bars_sit_side_by_side() {
        let elements = parse(&daily_chart(&month()));
        let received = with_class(&elements, "received")[0].number("x");
        let sent = with_class(&elements, "invoices-sent")[0].number("x");
        let failed = with_class(&elements, "orders-failed")[0].number("x");

        assert_near(sent - received, BAR_WIDTH);
        assert_near(failed - sent, BAR_WIDTH);
        let slot = (PLOT_RIGHT - PLOT_LEFT) / 30.0;
        assert!(received >= PLOT_LEFT);
        assert!(failed + BAR_WIDTH <= PLOT_LEFT + slot);
    }

    #[test]
    fn rate_points_use_the_percent_axis() {
        let elements = parse(&daily_chart(&month()));

        let points = with_class(&elements, "rate-point");
        let heights: Vec<f64> = points.iter().map(|point| point.number("cy")).collect();
        assert_eq!(heights.len(), 4);
        for (cy, percent) in heights.iter().zip([50.0, 25.0, 100.0, 0.0]) {
            assert_near(*cy, PLOT_BOTTOM - percent / 100.0 * PLOT_HEIGHT);
        }
        assert_eq!(points[2].title, "2024-04-16: failure rate 100 %");
    }

    #[test]
    fn rate_line_breaks_at_days_without_a_rate() {
        let elements = parse(&daily_chart(&month()));

        let line = with_class(&elements, "rate-line");
        assert_eq!(line.len(), 1);
        let path = line[0].attribute("d");
        let moves = path.matches('M').count();
        let lines = path.matches('L').count();
        // Days 0 and 1 are joined; days 5 and 7 stand alone.
        assert_eq!(moves, 3, "{path}");
        assert_eq!(lines, 1, "{path}");
    }

    #[test]
    fn axes_are_labelled() {
        let svg = daily_chart(&month());

        let counts = group_texts(&svg, "count-axis");
        assert_eq!(counts, ["0", "2", "4", "6", "8", "10", "Count"]);
        let rates = group_texts(&svg, "rate-axis");
        assert_eq!(rates, ["0 %", "25 %", "50 %", "75 %", "100 %"]);
        let dates = group_texts(&svg, "date-axis");
        assert_eq!(dates, ["12 Apr", "19 Apr", "26 Apr", "3 May", "10 May"]);
        let legend = group_texts(&svg, "legend");
        let expected = [
            "Orders received",
            "Invoices sent",
            "Orders failed",
            "Invoices failed",
            "Failure rate (right axis)",
        ];
        assert_eq!(legend, expected);
    }

    #[test]
    fn chart_is_accessible_and_scalable() {
        let svg = daily_chart(&month());
        let elements = parse(&svg);

        let root = &elements[0];
        assert_eq!(root.name, "svg");
        assert_eq!(root.attribute("viewBox"), "0 0 960 384");
        assert_eq!(root.attribute("width"), "100%");
        assert_eq!(root.attribute("role"), "img");
        let label = "Orders & invoices per day, 11 Apr 2024 to 10 May 2024: 11 orders \
                     received, 5 invoices sent, 3 orders failed, 3 invoices failed.";
        assert_eq!(root.attribute("aria-label"), label);
        assert_eq!(elements[1].name, "title");
        assert_eq!(elements[1].text, "Orders & invoices per day");
        assert_eq!(elements[2].name, "desc");
        assert_eq!(elements[2].text, label);
    }

    #[test]
    fn chart_loads_nothing_from_outside() {
        let svg = daily_chart(&month());
        let elements = parse(&svg);

        let names: Vec<&str> = elements
            .iter()
            .map(|element| element.name.as_str())
            .collect();
        for forbidden in ["script", "style", "image", "use", "foreignObject", "a"] {
            assert!(!names.contains(&forbidden), "<{forbidden}> in the chart");
        }
        for element in &elements {
            for (name, value) in &element.attributes {
                assert!(!name.contains("href"), "{name} on <{}>", element.name);
                assert!(!value.contains("url("), "{name}={value:?}");
            }
        }
    }

    #[test]
    fn text_is_escaped() {
        let svg = daily_chart(&month());
        assert!(svg.contains("<title>Orders &amp; invoices per day</title>"));
        assert!(svg.contains("font-family=\"system-ui, -apple-system, &#39;Segoe UI&#39;"));

        let markup = "<a href=\"x\">Tom & Jerry's</a>";
        let expected = "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;";
        assert_eq!(escape(markup), expected);
    }

    #[test]
    fn empty_month_says_there_are_no_orders() {
        let days: Vec<ChartDay> = (0..30).map(|index| day(index, [0; 4], None)).collect();
        let svg = daily_chart(&days);
        let elements = parse(&svg);

        let messages = with_class(&elements, "empty");
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].text, "No orders in the last 30 days");
        assert!(with_class(&elements, "bar").is_empty());
        assert!(with_class(&elements, "rate-point").is_empty());
        assert!(with_class(&elements, "rate-line").is_empty());
        assert_eq!(group_texts(&svg, "count-axis"), ["0", "1", "Count"]);
        assert_eq!(group_texts(&svg, "date-axis").len(), 5);
    }

    #[test]
    fn no_days_draw_an_empty_frame() {
        let svg = daily_chart(&[]);
        let elements = parse(&svg);

        let messages = with_class(&elements, "empty");
        assert_eq!(messages[0].text, "No orders to show");
        assert_eq!(
            elements[0].attribute("aria-label"),
            "Orders & invoices per day: no days to show."
        );
        assert!(group_texts(&svg, "date-axis").is_empty());
    }

    #[test]
    fn day_with_only_a_rate_is_not_empty() {
        let mut days: Vec<ChartDay> = (0..30).map(|index| day(index, [0; 4], None)).collect();
        days[3].failure_rate = Some(Decimal::ZERO);
        let elements = parse(&daily_chart(&days));

        assert!(with_class(&elements, "empty").is_empty());
        assert_eq!(with_class(&elements, "rate-point").len(), 1);
    }
}
