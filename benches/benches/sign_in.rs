//! Sign-in of an unknown user against sign-in with a wrong password, through
//! `StatusPage::sign_in`: both must take the same time (an unknown user is checked against a
//! dummy Argon2id hash), or the answer's timing would tell which usernames exist. The ratio
//! is expected at 1.0; the right password is measured too, for scale.
//!
//! Throttling is switched off for the bench (it would lock the account after five failures
//! and answer at once, which is the point in production but not here).

use cachet_benches::ratio::{Report, Settings};
use cachet_core::crypto::DataKey;
use cachet_core::enums::Role;
use cachet_core::input::UserInput;
use cachet_core::memory::MemoryStore;
use cachet_core::throttle::SignInThrottle;
use cachet_core::{Actor, StatusPage};
use tokio::runtime::Runtime;

const PASSWORD: &str = "plinth-oxbow-quietus-8";

fn main() {
    let rt = Runtime::new().expect("runtime");
    let service = rt.block_on(async {
        let s = StatusPage::new(
            std::sync::Arc::new(MemoryStore::new()),
            DataKey::from_bytes([1; 32]),
        )
        .await
        .expect("service")
        .with_sign_in_throttle(SignInThrottle::new(u32::MAX, u32::MAX));
        s.create_user(
            &Actor::System,
            UserInput {
                username: "ann".into(),
                email: "ann@example.com".into(),
                password: PASSWORD.into(),
                role: Role::Viewer,
            },
        )
        .await
        .expect("user");
        s
    });
    let attempt = |login: &str, password: &str| {
        let r = rt.block_on(service.sign_in(login, password, "bench"));
        std::hint::black_box(r.is_ok())
    };
    // Smoke check (also what `cargo test --benches` runs): the answers are as expected.
    assert!(!attempt("nobody", PASSWORD));
    assert!(!attempt("ann", "wrong password!!"));
    assert!(attempt("ann", PASSWORD));
    let mut report = Report::new(Settings::from_env());
    report.compare(
        "sign_in/unknown_user_vs_wrong_password",
        || {
            attempt("nobody", PASSWORD);
        },
        || {
            attempt("ann", "wrong password!!");
        },
    );
    report.compare(
        "sign_in/wrong_password_vs_right_password",
        || {
            attempt("ann", "wrong password!!");
        },
        || {
            attempt("ann", PASSWORD);
        },
    );
    report.print_summary("sign_in: unknown user vs wrong password (same time expected: 1.0)");
}
