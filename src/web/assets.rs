//! Static files, compiled into the binary so the desk runs from any folder. URLs carry a
//! content hash, so browsers may cache them forever.

use actix_web::{HttpResponse, web};
use std::sync::LazyLock;

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "css/desk.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/css/desk.css"),
    },
    Asset {
        path: "js/zone.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/js/zone.js"),
    },
    Asset {
        path: "js/report.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/js/report.js"),
    },
    Asset {
        path: "js/queue.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/js/queue.js"),
    },
];

/// A short hash of every asset: changes whenever any of them does.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    // FNV-1a: tiny, stable across builds, and collisions only cost a stale cache.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in ASSETS.iter().flat_map(|a| a.body.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:010x}", hash & 0xff_ffff_ffff)
});

/// URL of a static file, e.g. `asset_url("css/desk.css")`.
pub fn asset_url(path: &str) -> String {
    format!("/static/{}/{path}", *VERSION)
}

pub async fn serve(path: web::Path<(String, String)>) -> HttpResponse {
    let (version, file) = path.into_inner();
    match ASSETS.iter().find(|a| a.path == file) {
        Some(asset) => {
            let cache = if version == *VERSION {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            HttpResponse::Ok()
                .content_type(asset.content_type)
                .insert_header(("Cache-Control", cache))
                .body(asset.body)
        }
        None => HttpResponse::NotFound()
            .content_type("text/plain")
            .body("no such file"),
    }
}
