//! `/telemetry`: how the profiler's runs went per warehouse type over the last hour, day
//! or week; tables past their freshness target; semantic-type accuracy. Charts are small
//! SVGs drawn on the server.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::runs::human_duration;
use super::{Layout, PageContext, PageError, html};
use crate::domain::humanize;
use crate::domain::run_stats::{Bar, TypeAccuracy, WarehouseStats};
use crate::domain::window::Window;
use crate::services::run_telemetry::{self, StaleTable};
use crate::state::Desk;

const DEFAULT_WINDOW: Window = Window::Day;
const CHART_WIDTH: f64 = 240.0;
const CHART_HEIGHT: f64 = 48.0;

/// Bars per chart of the last hour (5-minute slices); a day and a week are cut on clock
/// hours (1-hour and 6-hour bars) by the roll-ups they are read from.
fn bars(window: Window) -> usize {
    match window {
        Window::Hour => 12,
        Window::Day => 24,
        Window::Week | Window::All => 28,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TelemetryQuery {
    window: Option<String>,
}

/// One bar as SVG rectangles: all runs, and the failed and timed-out part from the foot.
pub struct ChartBar {
    pub x: String,
    pub width: String,
    pub runs: Rect,
    pub failed: Rect,
    pub timed_out: Rect,
    pub title: String,
}

pub struct Rect {
    pub y: String,
    pub height: String,
}

/// One warehouse row with its chart.
pub struct Row {
    pub stats: WarehouseStats,
    pub label: &'static str,
    pub chart: Vec<ChartBar>,
    pub peak: usize,
    /// The p95 duration per bar as a polyline (`x,y …`), empty without durations.
    pub p95_line: String,
    /// The largest p95 of a bar, the line's top.
    pub p95_peak: String,
}

/// The time labels under every chart of the page: its start, middle and end, in the
/// reader's zone.
pub struct Axis {
    pub start: String,
    pub middle: String,
    pub end: String,
}

impl Axis {
    fn new(window: Window, from: NaiveDateTime, to: NaiveDateTime, zone: Tz) -> Axis {
        let format = match window {
            Window::Hour => "%H:%M",
            Window::Day => "%a %H:%M",
            Window::Week | Window::All => "%a %-d %b",
        };
        let label = |at: NaiveDateTime| {
            zone.from_utc_datetime(&at)
                .format(format)
                .to_string()
                .replace(' ', &humanize::NBSP.to_string())
        };
        Axis {
            start: label(from),
            middle: label(from + (to - from) / 2),
            end: "now".into(),
        }
    }
}

impl Row {
    pub fn runs(&self) -> String {
        number(self.stats.runs)
    }

    pub fn peak_text(&self) -> String {
        number(self.peak)
    }

    pub fn failure_rate(&self) -> String {
        percent(self.stats.failure_rate())
    }

    pub fn timeout_rate(&self) -> String {
        percent(self.stats.timeout_rate())
    }

    pub fn p50(&self) -> String {
        human_duration(self.stats.p50_ms)
    }

    pub fn p95(&self) -> String {
        human_duration(self.stats.p95_ms)
    }

    pub fn max(&self) -> String {
        human_duration(self.stats.max_ms)
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".into(), |r| format!("{:.1}%", r * 100.0))
}

fn number(n: usize) -> String {
    humanize::number(i64::try_from(n).unwrap_or(i64::MAX))
}

fn chart(bars: &[Bar], peak: usize) -> Vec<ChartBar> {
    let slot = CHART_WIDTH / bars.len().max(1) as f64;
    let scale = CHART_HEIGHT / peak.max(1) as f64;
    let rect = |stacked_below: usize, count: usize| {
        let height = count as f64 * scale;
        Rect {
            y: format!(
                "{:.1}",
                CHART_HEIGHT - stacked_below as f64 * scale - height
            ),
            height: format!("{height:.1}"),
        }
    };
    bars.iter()
        .enumerate()
        .map(|(i, bar)| ChartBar {
            x: format!("{:.1}", i as f64 * slot),
            width: format!("{:.1}", (slot - 1.0).max(1.0)),
            runs: rect(0, bar.runs),
            failed: rect(0, bar.failed),
            timed_out: rect(bar.failed, bar.timed_out),
            title: format!(
                "{} runs, {} failed, {} timed out",
                bar.runs, bar.failed, bar.timed_out
            ),
        })
        .collect()
}

/// The p95 of each bar as polyline points over the chart's width, scaled to the highest;
/// bars without finished runs are gaps the line skips.
fn p95_line(bars: &[Bar]) -> (String, Option<i64>) {
    let peak = bars.iter().filter_map(|b| b.p95_ms).max();
    let Some(top) = peak.filter(|p| *p > 0) else {
        return (String::new(), peak);
    };
    let slot = CHART_WIDTH / bars.len().max(1) as f64;
    let points: Vec<String> = bars
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let ms = b.p95_ms?;
            let x = i as f64 * slot + slot / 2.0;
            let y = CHART_HEIGHT - 1.0 - (ms as f64 / top as f64) * (CHART_HEIGHT - 4.0);
            Some(format!("{x:.1},{y:.1}"))
        })
        .collect();
    (points.join(" "), peak)
}

#[derive(Template)]
#[template(path = "telemetry/index.html")]
struct TelemetryPage {
    layout: Layout,
    window: Window,
    windows: [Window; 3],
    since: NaiveDateTime,
    axis: Axis,
    rows: Vec<Row>,
    stale: Vec<StaleTable>,
    stale_cut: bool,
    accuracy: Vec<TypeAccuracy>,
    error: Option<String>,
}

impl TelemetryPage {
    fn count(&self, n: &usize) -> String {
        number(*n)
    }

    fn target(&self, table: &StaleTable) -> String {
        human_duration(Some(table.target.num_milliseconds()))
    }

    fn accuracy_text(&self, a: &TypeAccuracy) -> String {
        percent(a.accuracy())
    }
}

pub async fn index(
    ctx: PageContext,
    desk: web::Data<Desk>,
    query: web::Query<TelemetryQuery>,
) -> Result<HttpResponse, PageError> {
    let asked = query.into_inner().window.filter(|w| !w.trim().is_empty());
    let (window, error) = match asked.as_deref().map(Window::parse) {
        None => (DEFAULT_WINDOW, None),
        Some(Ok(w)) if w != Window::All => (w, None),
        Some(Ok(_)) => (
            DEFAULT_WINDOW,
            Some("window: telemetry covers 1h, 24h or 7d".into()),
        ),
        Some(Err(e)) => (DEFAULT_WINDOW, Some(format!("window: {e}"))),
    };
    let telemetry = desk
        .db(move |conn, desk| {
            run_telemetry::read(conn, &desk.model, window, bars(window), desk.clock.now())
        })
        .await?;
    let rows = telemetry
        .warehouses
        .into_iter()
        .map(|stats| {
            let peak = stats.bars.iter().map(|b| b.runs).max().unwrap_or(0);
            let (p95_line, p95_peak) = p95_line(&stats.bars);
            Row {
                label: stats.warehouse_type.label(),
                chart: chart(&stats.bars, peak),
                peak,
                p95_line,
                p95_peak: human_duration(p95_peak),
                stats,
            }
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = TelemetryPage {
        layout: Layout::new("Run telemetry", &ctx),
        window,
        windows: Window::BOUNDED,
        since: telemetry.since,
        axis: Axis::new(
            window,
            run_telemetry::bars_start(window, telemetry.since),
            ctx.now,
            ctx.zone,
        ),
        rows,
        stale: telemetry.stale,
        stale_cut: telemetry.stale_cut,
        accuracy: telemetry.accuracy,
        error,
    };
    html(status, &page)
}
