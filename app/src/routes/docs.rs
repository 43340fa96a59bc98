//! `GET /openapi.json` and `GET /docs`: the API description, and Swagger UI
//! rendering it. Swagger UI's files are vendored in `app/assets/swagger-ui`
//! and built into the binary: the page loads nothing from the internet.

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::{HttpResponse, web};

use crate::http::problem::Problem;

const PAGE: &str = include_str!("../../assets/docs.html");
const SWAGGER_UI_JS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_UI_CSS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");

/// The OpenAPI document as served, assembled once by the server (the
/// document names the handlers, so the handlers cannot name it).
pub struct OpenApiJson(pub String);

/// The OpenAPI 3.1 document of this service.
#[utoipa::path(get, path = "/openapi.json", operation_id = "getOpenApiDocument", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", body = crate::http::schemas::OpenApiDocumentDoc)))]
pub async fn openapi_json(document: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(document.0.clone())
}

/// The API documentation page (Swagger UI), where requests can be tried.
#[utoipa::path(get, path = "/docs", operation_id = "getDocsPage", tag = "operations",
    responses((status = 200, description = "An HTML page", body = String, content_type = "text/html")))]
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(PAGE)
}

pub async fn asset(name: web::Path<String>) -> Result<HttpResponse, Problem> {
    let (body, content_type) = match name.as_str() {
        "swagger-ui-bundle.js" => (SWAGGER_UI_JS, "text/javascript; charset=utf-8"),
        "swagger-ui.css" => (SWAGGER_UI_CSS, "text/css; charset=utf-8"),
        _ => return Err(Problem::NotFound(format!("no resource at /docs/{name}"))),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(CacheControl(vec![CacheDirective::MaxAge(3600)]))
        .body(body))
}
