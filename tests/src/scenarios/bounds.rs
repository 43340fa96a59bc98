//! What the service bounds for any input: the time a body may take to
//! arrive, the size of an error list, and the JSON it accepts (no repeated
//! key, no number past f64).

use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::answers::expect_problem;
use crate::harness::data::example_application;
use crate::harness::{TestApp, TestBackends};

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_and_the_connection_closed() {
    let mut backends = TestBackends::memory();
    backends.options.body_timeout = Duration::from_millis(300);
    let app = TestApp::spawn(backends).await;

    // A Content-Length longer than the body sent: the rest never comes.
    let body = example_application().to_string();
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len() + 100
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the connection is closed, not held")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request-timeout"), "{answer}");
    // Said, too: a client must not send its next request on this connection.
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    app.assert_nothing_reached_the_ports();
}

/// A chunked body that stops after its first chunk: the 408 comes, and the
/// connection is closed with it rather than held open waiting for the rest
/// (actix-web drains a chunked body it was not asked to read).
#[tokio::test]
async fn a_stalled_chunked_body_is_answered_408_and_its_connection_closed() {
    let mut backends = TestBackends::memory();
    backends.options.body_timeout = Duration::from_millis(300);
    let app = TestApp::spawn(backends).await;

    let mut stream = connect(&app).await;
    let head = "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"5\r\n{\"che\r\n").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("the connection is closed after the 408, not held")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request-timeout"), "{answer}");
    app.assert_nothing_reached_the_ports();
}

/// On a kept-alive connection, the next request's head is bounded as the
/// first one's is: one trickling in a byte at a time is cut off.
#[tokio::test]
async fn a_second_requests_head_that_trickles_is_cut_off() {
    let app = TestApp::on_memory().await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 1024];
    let read = stream.read(&mut first).await.unwrap();
    assert!(first[..read].starts_with(b"HTTP/1.1 200"));

    // The next head, a byte every half second: never complete.
    let started = Instant::now();
    let trickle = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Padding: ";
    let mut closed = false;
    for byte in trickle.iter().chain(std::iter::repeat(&b'a')).take(60) {
        if stream.write_all(std::slice::from_ref(byte)).await.is_err() {
            closed = true;
            break;
        }
        let mut rest = [0u8; 64];
        match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut rest)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(_)) | Err(_) => {}
        }
    }
    assert!(closed, "a head trickling for 30 s was not cut off");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "cut off after {took:?}");
}

async fn connect(app: &TestApp) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_flood_of_bad_applications_lists_a_hundred_errors_and_counts_the_rest() {
    let app = TestApp::on_memory().await;
    // 1,000 applications of 32 unknown members (the most an object may
    // have): 50,000 errors.
    let flood: Value = (0..32)
        .map(|i| (format!("unknown_member_{i:02}"), json!(0)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let applications = vec![flood; 1000];
    let response = app.post_batch(&applications).await;
    let size = response.content_length();
    let problem = expect_problem(response, 422, "validation").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 100);
    assert_eq!(
        problem["detail"],
        "50000 fields are invalid; the first 100 are listed"
    );
    assert!(size.is_some_and(|size| size < 16 * 1024), "{size:?} bytes");
    app.assert_nothing_reached_the_ports();
}

#[tokio::test]
async fn an_object_past_its_member_limit_is_refused_without_reading_it_all() {
    let app = TestApp::on_memory().await;
    let mut application = example_application();
    for i in 0..3_000 {
        application[format!("extra_{i}")] = json!(i);
    }
    let problem = expect_problem(app.post_decision(&application).await, 422, "validation").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("3018 were sent"),
        "{problem}"
    );
    app.assert_nothing_reached_the_ports();
}

#[tokio::test]
async fn a_repeated_key_is_refused_naming_it() {
    let app = TestApp::on_memory().await;
    let body = example_application().to_string();
    // The same application, with age_years given twice.
    let twice = body.replacen('{', r#"{"age_years": 30, "#, 1);
    let response = app
        .post_raw(
            "/v1/decisions",
            Some("application/json"),
            twice.into_bytes(),
        )
        .await;
    let problem = expect_problem(response, 422, "validation").await;
    assert_eq!(
        problem["errors"],
        json!([{"field": "age_years", "message": "appears more than once"}])
    );

    let batch = format!(
        r#"{{"applications": [{body}, {}]}}"#,
        body.replacen('{', r#"{"job": "skilled", "#, 1)
    );
    let response = app
        .post_raw(
            "/v1/decisions/batch",
            Some("application/json"),
            batch.into_bytes(),
        )
        .await;
    let problem = expect_problem(response, 422, "validation").await;
    assert_eq!(problem["errors"][0]["field"], "applications[1].job");
    app.assert_nothing_reached_the_ports();
}

#[tokio::test]
async fn a_number_past_f64_is_422_naming_the_field() {
    let app = TestApp::on_memory().await;
    for field in ["credit_amount", "age_years"] {
        let body = example_application().to_string().replacen(
            &format!(r#""{field}":"#),
            &format!(r#""{field}": 1e400, "x{field}":"#),
            1,
        );
        let response = app
            .post_raw("/v1/decisions", Some("application/json"), body.into_bytes())
            .await;
        let problem = expect_problem(response, 422, "validation").await;
        assert_eq!(
            problem["errors"],
            json!([{"field": field, "message": "is a number out of range"}])
        );
    }
    app.assert_nothing_reached_the_ports();
}

#[tokio::test]
async fn whole_numbers_with_a_fraction_are_integers_and_share_a_cache_entry() {
    let app = TestApp::on_memory().await;
    let first = app.post_decision(&example_application()).await;
    assert_eq!(first.status(), 200);
    let mut written_as_floats = example_application();
    written_as_floats["duration_months"] = json!(6.0);
    written_as_floats["age_years"] = json!(67.0);
    let second = app.post_decision(&written_as_floats).await;
    assert_eq!(second.status(), 200);
    assert_eq!(
        crate::harness::answers::header(&second, "cache-status").as_deref(),
        Some("credit-decisions; hit")
    );
}
