//! `/api/trainer/*`: forwarded to the trainer's control API (docs/CONTRACTS.md §7), so
//! the web app talks to one origin.

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{AppError, AppState, ErrorBody, MAX_BODY_BYTES};

#[utoipa::path(
    method(get, post, patch),
    path = "/api/trainer",
    summary = "proxied to the trainer's root",
    responses(
        (status = "default", description = "the trainer's response"),
        (status = 413, description = "body over 64 KiB", body = ErrorBody),
        (status = 502, description = "the trainer is not reachable", body = ErrorBody),
    )
)]
pub(super) async fn proxy_root(State(st): State<AppState>, req: Request) -> Result<Response, AppError> {
    forward(st, String::new(), req).await
}

#[utoipa::path(
    method(get, post, patch),
    path = "/api/trainer/{path}",
    summary = "proxied to the trainer",
    params((
        "path" = String,
        Path,
        description = "path of the trainer's control API (docs/CONTRACTS.md §7); segments of letters, digits, '-', '_', '.', never '.' or '..'",
        example = "status",
        // The rule of `check_trainer_path`, as a regular expression.
        pattern = r"^(?!(.*/)?\.\.?(/|$))[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"
    )),
    responses(
        (status = "default", description = "the trainer's response"),
        (status = 400, description = "not a trainer API path", body = ErrorBody),
        (status = 413, description = "body over 64 KiB", body = ErrorBody),
        (status = 502, description = "the trainer is not reachable", body = ErrorBody),
    )
)]
pub(super) async fn proxy(
    State(st): State<AppState>,
    UrlPath(path): UrlPath<String>,
    req: Request,
) -> Result<Response, AppError> {
    forward(st, path, req).await
}

/// Forwards a GET/POST/PATCH to the trainer's control API, passing the body, query and
/// content type through and returning the trainer's status and body unchanged.
async fn forward(st: AppState, path: String, req: Request) -> Result<Response, AppError> {
    let method = req.method().clone();
    if !matches!(method, Method::GET | Method::POST | Method::PATCH) {
        let err = AppError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: format!("the trainer proxy forwards GET, POST and PATCH, not {method}"),
        };
        // A 405 names the methods that are allowed (RFC 9110).
        let mut resp = err.into_response();
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST, PATCH"));
        return Ok(resp);
    }
    check_trainer_path(&path)?;
    let base = st.config.trainer_url.trim_end_matches('/');
    let mut url = format!("{base}/{path}");
    if let Some(q) = req.uri().query() {
        url.push('?');
        url.push_str(q);
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let body: Bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await.map_err(|_| AppError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!("request body is larger than {MAX_BODY_BYTES} bytes"),
    })?;
    let rmethod = reqwest::Method::from_bytes(method.as_str().as_bytes()).expect("GET/POST/PATCH");
    let mut r = st.http.request(rmethod, &url).body(body);
    if let Some(ct) = content_type {
        r = r.header(reqwest::header::CONTENT_TYPE, ct.as_bytes());
    }
    let unreachable = |e: reqwest::Error| AppError {
        status: StatusCode::BAD_GATEWAY,
        message: format!("trainer not reachable at {base}: {e}"),
    };
    let resp = r.send().await.map_err(unreachable)?;
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let ct = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok());
    let bytes = resp.bytes().await.map_err(unreachable)?;
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    if let Some(ct) = ct {
        out.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    Ok(out)
}

/// The proxy forwards to the trainer's own routes only: `path` (already percent-decoded
/// by the router) must be segments of letters, digits, `-`, `_` and `.`, none of them `.`
/// or `..`. So no request can climb out of the trainer URL's path, name another host
/// (`@`, `:`, `//`) or smuggle a query or fragment; the proxy is not an open proxy.
fn check_trainer_path(path: &str) -> Result<(), AppError> {
    let ok_segment = |s: &str| {
        !s.is_empty() && s != "." && s != ".." && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    if path.is_empty() || path.split('/').all(ok_segment) {
        Ok(())
    } else {
        Err(AppError::bad_request(format!(
            "{path:?} is not a trainer API path (segments of letters, digits, '-', '_', '.'; see docs/CONTRACTS.md §7)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::{Body, Bytes};
    use axum::http::{header, Method, Request as HttpRequest, StatusCode, Uri};
    use axum::routing::any;
    use axum::{Json, Router};
    use serde_json::json;
    use tower::ServiceExt;

    use super::super::test_util::{call, config, state};
    use super::super::{app, AppState};
    use super::*;
    use crate::telemetry::Telemetry;

    #[tokio::test]
    async fn trainer_proxy_reports_unreachable_and_forwards() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        let (s, v) = call(&st, "GET", "/api/trainer/status", None).await;
        assert_eq!(s, StatusCode::BAD_GATEWAY);
        assert!(v["error"].as_str().unwrap().contains("trainer not reachable at http://127.0.0.1:9"), "{v}");
        let (s, _) = call(&st, "DELETE", "/api/trainer/status", None).await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);

        // A tiny stand-in trainer that echoes what it got.
        let echo = Router::new().route(
            "/{*p}",
            any(|method: Method, uri: Uri, body: Bytes| async move {
                (StatusCode::ACCEPTED, Json(json!({"method": method.as_str(), "uri": uri.to_string(), "body": String::from_utf8_lossy(&body)})))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, echo).await.unwrap() });
        let mut cfg = config(dir.path());
        cfg.trainer_url = format!("http://{addr}");
        let st = AppState::new(cfg, Arc::new(Telemetry::new("tictactoe")), None);
        let (s, v) = call(&st, "PATCH", "/api/trainer/config?x=1", Some(r#"{"learning_rate":0.01}"#)).await;
        assert_eq!(s, StatusCode::ACCEPTED);
        assert_eq!(v["method"], "PATCH");
        assert_eq!(v["uri"], "/config?x=1");
        assert_eq!(v["body"], r#"{"learning_rate":0.01}"#);
    }

    #[tokio::test]
    async fn trainer_proxy_refuses_paths_outside_the_trainer_api() {
        for ok in ["", "status", "config", "a/b-c_d.e"] {
            assert!(check_trainer_path(ok).is_ok(), "{ok}");
        }
        for bad in
            ["..", ".", "../x", "a/../b", "a/./b", "a//b", "/etc", "@evil:1/x", "x?y", "x#y", "a\\b", "x\r\ny", "%2e"]
        {
            let e = check_trainer_path(bad).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        // Decoded by the router first: an encoded `..` is refused the same way.
        let (s, v) = call(&st, "GET", "/api/trainer/%2e%2e/secret", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(v["error"].as_str().unwrap().contains("not a trainer API path"), "{v}");
        let req = HttpRequest::builder().method("DELETE").uri("/api/trainer/status").body(Body::empty()).unwrap();
        let resp = app(st.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers()[header::ALLOW], "GET, POST, PATCH");
    }
}
