//! The web app: the files of `web/dist`, with the SPA fallback to `index.html`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use super::{AppError, AppState};

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Cartridge</title>
<h1>The web app is not built</h1>
<p>The actor serves the Svelte app from <code>WEB_DIR</code>, which has no <code>index.html</code>.
Build it with <code>cd web &amp;&amp; npm install &amp;&amp; npm run build</code> (./start_training.sh does this),
or pass <code>--web-dir</code>. The API is up: <a href=\"/api/health\">/api/health</a>, <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p>
";

/// Files of the web app with SPA fallback to `index.html`; a short page when the app
/// has not been built. Checked per request, so building while the actor runs works.
pub(super) async fn static_files(State(st): State<AppState>, req: Request) -> Response {
    let dir = &st.config.web_dir;
    let index = dir.join("index.html");
    if !index.is_file() {
        let page = NOT_BUILT.replace("WEB_DIR", &dir.display().to_string());
        return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    }
    match ServeDir::new(dir).fallback(ServeFile::new(index)).oneshot(req).await {
        Ok(r) => r.map(Body::new),
        Err(e) => AppError::internal(format!("serving static files: {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::super::test_util::{call, call_raw, state};

    #[tokio::test]
    async fn static_files_with_spa_fallback_and_not_built_page() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        let (s, body) = call_raw(&st, "GET", "/", None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(String::from_utf8_lossy(&body).contains("not built"));
        std::fs::create_dir_all(dir.path().join("web/assets")).unwrap();
        std::fs::write(dir.path().join("web/index.html"), "<html>app</html>").unwrap();
        std::fs::write(dir.path().join("web/assets/a.js"), "console.log(1)").unwrap();
        let (s, body) = call_raw(&st, "GET", "/assets/a.js", None).await;
        assert_eq!((s, body.as_slice()), (StatusCode::OK, b"console.log(1)".as_slice()));
        let (s, body) = call_raw(&st, "GET", "/play/tictactoe", None).await;
        assert_eq!((s, body.as_slice()), (StatusCode::OK, b"<html>app</html>".as_slice()));
        // Unknown API paths are JSON 404s, not the app.
        let (s, v) = call(&st, "GET", "/api/nope", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(v["error"].as_str().unwrap().contains("/api/nope"));
    }
}
