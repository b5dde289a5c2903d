//! The HTTP side: routes, the guard on every request, and the handlers, which run the
//! blocking work (replay, model, files) on blocking threads.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::changes;
use super::classify::MAX_IMAGES;
use super::csp;
use super::doc::SlideDoc;
use super::error::ApiError;
use super::guard::{self, Refusal, TOKEN_COOKIE};
use super::pages;
use super::report::{self, ReportContext};
use super::shared::{Shared, blocking};

type AppState = Arc<Shared>;

/// Every route of the station.
pub(super) fn router(shared: Shared) -> Router {
    let limit = shared.max_upload_bytes;
    let state: AppState = Arc::new(shared);
    Router::new()
        .route("/", get(classify_page))
        .route("/slides", get(slides_page))
        .route("/slides/{id}", get(slide_page))
        .route("/slides/{id}/report.html", get(report_html))
        .route("/slides/{id}/report.csv", get(report_csv))
        .route("/slides/{id}/cells/{file}", get(crop))
        .route("/assets/{file}", get(asset))
        .route("/api/classify", post(classify))
        .route("/api/events", get(super::events::events))
        .route("/api/slides", get(api_slides))
        .route("/api/slides/{id}", get(api_slide))
        .route("/api/slides/{id}/cells", post(api_add_cell))
        .route("/api/slides/{id}/cells/{seq}", post(api_review))
        .route("/api/slides/{id}/sign-off", post(api_sign_off))
        .route("/api/slides/{id}/export", post(api_export))
        .route(
            "/api/calibrate",
            post(api_calibrate).layer(DefaultBodyLimit::max(super::teach::MAX_BODY_BYTES)),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(state.clone(), guard_layer))
        .with_state(state)
}

/// Refuses requests without the token or from another site; a valid `?token=` is kept in
/// a cookie; every answer gets headers that keep pages from being framed or sniffed.
async fn guard_layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let query = request.uri().query().map(str::to_string);
    let checked = guard::check(
        request.method(),
        request.headers(),
        query.as_deref(),
        state.token.as_deref(),
    );
    let mut response = match checked {
        Err(Refusal::NoToken) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this station needs its access token: open /?token=TOKEN once, or send Authorization: Bearer TOKEN",
        )
        .into_response(),
        Err(Refusal::CrossSite) => ApiError::new(
            StatusCode::FORBIDDEN,
            "changes are accepted only from the station's own pages",
        )
        .into_response(),
        Err(Refusal::NotLocal) => ApiError::new(
            StatusCode::FORBIDDEN,
            "this station answers only requests addressed to this machine (127.0.0.1, localhost); set station.token to serve others",
        )
        .into_response(),
        Ok(()) => next.run(request).await,
    };
    let headers = response.headers_mut();
    if let (Some(token), Some(q)) = (&state.token, &query)
        && guard::has_token(&axum::http::HeaderMap::new(), Some(q), token)
        && let Ok(cookie) = HeaderValue::from_str(&format!(
            "{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
        ))
    {
        headers.append(header::SET_COOKIE, cookie);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp::policy()),
    );
    response
}

/// An error as a page (for the HTML routes).
fn page_error(e: ApiError) -> Response {
    (e.status, Html(pages::error(&e.message))).into_response()
}

async fn classify_page(State(state): State<AppState>) -> Html<String> {
    let worker = state.clone();
    let open = blocking(move || Ok(worker.slides.open_slide_id()))
        .await
        .ok()
        .flatten();
    Html(pages::classify(
        state.classify.labels(),
        state.classify.missing(),
        open.as_deref(),
    ))
}

async fn slides_page(State(state): State<AppState>) -> Response {
    match blocking(move || state.slides.list()).await {
        Ok(items) => Html(pages::slide_list(&items)).into_response(),
        Err(e) => page_error(e),
    }
}

async fn load_doc(state: AppState, id: String) -> Result<SlideDoc, ApiError> {
    blocking(move || state.slides.load(&id).map(|s| SlideDoc::of(&s))).await
}

async fn slide_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let worker = state.clone();
    let writable = blocking(move || Ok(worker.slides.writable()))
        .await
        .unwrap_or(false);
    let read_only = (!writable).then_some(
        "Read-only: a running daemon counts in this data directory and owns its journal. Review in the daemon's own station (station.enabled = true), or stop the daemon first.",
    );
    match load_doc(state, id).await {
        Ok(doc) => Html(pages::slide(&doc, read_only)).into_response(),
        Err(e) => page_error(e),
    }
}

async fn report_html(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let model = state.model.clone();
    match load_doc(state, id).await {
        Ok(doc) => {
            let context = ReportContext {
                crop_base: Some(format!(
                    "/slides/{}/cells/",
                    super::html::url_segment(doc.id())
                )),
                model,
            };
            Html(report::html(&doc, &context)).into_response()
        }
        Err(e) => page_error(e),
    }
}

async fn report_csv(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match load_doc(state, id).await {
        Ok(doc) => {
            let disposition = format!(
                "attachment; filename=\"{}.csv\"",
                super::html::url_segment(doc.id())
            );
            let mut response = (
                [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
                report::csv(&doc),
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

async fn crop(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let bytes = blocking(move || state.slides.crop(&id, &file)).await?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response())
}

/// The two assets, compiled in: no file is read from disk for them.
async fn asset(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "station.css" => (
            [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
            include_str!("assets/station.css"),
        )
            .into_response(),
        "station.js" => (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            include_str!("assets/station.js"),
        )
            .into_response(),
        _ => ApiError::not_found("no such asset").into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such page or API route")
}

async fn api_slides(State(state): State<AppState>) -> Result<Response, ApiError> {
    let items = blocking(move || state.slides.list()).await?;
    Ok(Json(items).into_response())
}

async fn api_slide(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SlideDoc>, ApiError> {
    Ok(Json(load_doc(state, id).await?))
}

/// `{"label": "...", "reviewer": "..."}`: a class of the slide or `unidentified`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    label: String,
    #[serde(default)]
    reviewer: Option<String>,
}

/// `{"operator": "..."}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignOffBody {
    operator: String,
}

fn json_error(e: JsonRejection) -> ApiError {
    ApiError::new(e.status(), e.body_text())
}

async fn api_review(
    State(state): State<AppState>,
    Path((id, seq)): Path<(String, String)>,
    body: Result<Json<ReviewBody>, JsonRejection>,
) -> Result<Json<SlideDoc>, ApiError> {
    let Json(body) = body.map_err(json_error)?;
    let seq: u64 = seq
        .parse()
        .map_err(|_| ApiError::bad(format!("cell number {seq:?} is not a number")))?;
    let reviewer = body
        .reviewer
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "unnamed reviewer".to_string());
    let doc = changes::review(state, id, seq, body.label, reviewer).await?;
    Ok(Json(doc))
}

async fn api_sign_off(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<SignOffBody>, JsonRejection>,
) -> Result<Json<SlideDoc>, ApiError> {
    let Json(body) = body.map_err(json_error)?;
    let doc = changes::sign_off(state, id, body.operator).await?;
    Ok(Json(doc))
}

/// `POST /api/classify`: every `image` field classified; a picture that cannot be read
/// gets its own `error`, and when none can be, the request fails with the first message.
async fn classify(
    State(state): State<AppState>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    let uploads = read_images(&state, multipart, MAX_IMAGES).await?;
    let worker = state.clone();
    let results = blocking(move || {
        Ok(uploads
            .iter()
            .map(
                |(name, bytes)| match worker.classify.classify(name, bytes) {
                    Ok(done) => serde_json::to_value(done).unwrap_or_default(),
                    Err(error) => serde_json::json!({ "file": name, "error": error }),
                },
            )
            .collect::<Vec<_>>())
    })
    .await?;
    if results.iter().all(|r| r.get("error").is_some()) {
        let first = results
            .first()
            .map(|r| {
                format!(
                    "{}: {}",
                    r["file"].as_str().unwrap_or("picture"),
                    r["error"].as_str().unwrap_or("")
                )
            })
            .unwrap_or_default();
        let status = if state.classify.missing().is_some() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return Ok((
            status,
            Json(serde_json::json!({ "error": first, "images": results })),
        )
            .into_response());
    }
    Ok(Json(serde_json::json!({ "images": results })).into_response())
}

/// The pictures of a multipart request (fields named `image`), at most `max`, refused
/// with a message when there is none, too many, or the request is too large.
async fn read_images(
    state: &Shared,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
    max: usize,
) -> Result<Vec<(String, axum::body::Bytes)>, ApiError> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::new(
            e.status(),
            format!(
                "send the pictures as multipart/form-data fields named image: {}",
                e.body_text()
            ),
        )
    })?;
    let mut uploads = Vec::new();
    let too_large = |e: axum::extract::multipart::MultipartError| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                format!(
                    "the upload is larger than {} bytes (station.max_upload_bytes): send fewer or smaller pictures",
                    state.max_upload_bytes
                ),
            )
        } else {
            ApiError::new(
                status,
                format!("the upload could not be read: {}", e.body_text()),
            )
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        if field.name() != Some("image") {
            continue;
        }
        if uploads.len() == max {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("at most {max} picture(s) per request"),
            ));
        }
        let name = field.file_name().unwrap_or("picture").to_string();
        let bytes = field.bytes().await.map_err(too_large)?;
        uploads.push((name, bytes));
    }
    if uploads.is_empty() {
        return Err(ApiError::bad(
            "no picture: choose one or more JPEG, PNG or BMP files (form field image)",
        ));
    }
    Ok(uploads)
}

/// `POST /api/slides/{id}/cells` (one `image`): the upload classified again (the server
/// never takes a client's answer) and counted in the open slide, its crop kept.
async fn api_add_cell(
    State(state): State<AppState>,
    Path(id): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    let mut uploads = read_images(&state, multipart, 1).await?;
    let Some((name, bytes)) = uploads.pop() else {
        return Err(ApiError::bad("no picture to save"));
    };
    let origin = upload_origin(&name);
    let worker = state.clone();
    let outcome = blocking(move || {
        worker
            .classify
            .classify_upload(&name, &bytes)
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{name}: {e}")))
    })
    .await?;
    let label = outcome.classified.label.clone();
    let seq = changes::add_cell(state, id.clone(), outcome, origin).await?;
    Ok(Json(serde_json::json!({ "slide": id, "seq": seq, "label": label })).into_response())
}

/// The journal's `frame` of an uploaded cell: `upload:` and the file name, printable and short.
fn upload_origin(name: &str) -> String {
    let clean: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(crate::count::MAX_NAME_CHARS)
        .collect();
    format!("upload:{clean}")
}

/// `POST /api/slides/{id}/export`: the slide's reviewed cells copied to
/// `exports/<slide>/CLASS/` in the data directory, for recalibration.
async fn api_export(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let summary = blocking(move || {
        let session = state.slides.load(&id)?;
        let out = state.slides.data_dir().join("exports").join(&session.id);
        let mut summary = super::export::ExportSummary {
            out,
            slides: vec![session.id.clone()],
            ..Default::default()
        };
        super::export::export_slide(&state.slides, &session, &summary.out.clone(), &mut summary)?;
        log::info!("{summary}");
        Ok(summary)
    })
    .await?;
    let message = summary.to_string();
    Ok(Json(serde_json::json!({ "summary": summary, "message": message })).into_response())
}

/// `POST /api/calibrate` with `{"slides": [...]}` (none: every signed-off slide): "Teach
/// this microscope". The job runs on a blocking worker that holds the slot until it ends,
/// even when the client goes away, so a second request meanwhile is told it is running.
async fn api_calibrate(
    State(state): State<AppState>,
    body: Result<Json<super::teach::TeachBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(json_error)?;
    let slides = body.slides()?;
    // Refused here, before a worker is spent on it.
    drop(state.teaching.take()?);
    let outcome = blocking(move || {
        let _job = state.teaching.take()?;
        super::teach::run(&state, slides)
    })
    .await?;
    let html = super::teach::html(&outcome);
    let mut answer = serde_json::to_value(&outcome)
        .map_err(|e| ApiError::internal(format!("the answer could not be written: {e}")))?;
    answer["html"] = serde_json::Value::String(html);
    Ok(Json(answer).into_response())
}
