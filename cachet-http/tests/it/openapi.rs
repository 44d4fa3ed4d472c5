//! The OpenAPI document at `/api/v1/openapi.json`.

use crate::common::App;

#[tokio::test]
async fn dump() {
    let app = App::new().await;
    let res = app.get("/api/v1/openapi.json", None).await;
    std::fs::write("/tmp/oa/openapi.json", &res.body).unwrap();
}
