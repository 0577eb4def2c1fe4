//! Every route of the server, one folder (or file) per capability, pages and API side by side.
//! Each capability exposes `router()` (and `api_router()` for `/api/v1`); this module merges
//! them.
//!
//! Architecture invariant: no route module imports another capability's module. What several
//! need lives outside `routes/` (`crate::view`, `crate::input`, `crate::day_sheet`); the test
//! below keeps it so.

pub mod accounts;
pub mod admin;
pub mod calendar;
pub mod capabilities;
pub mod counter;
pub mod feed;
pub mod home;
pub mod line;
pub mod ops;
pub mod org;
pub mod payments;
pub mod reservations;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(accounts::router())
        .merge(org::router())
        .merge(admin::router())
        .merge(payments::router())
        .merge(calendar::router())
        .merge(capabilities::router())
        .merge(counter::router())
        .merge(reservations::router())
        .merge(line::router())
        .merge(feed::router())
        .nest(
            "/api/v1",
            accounts::api_router()
                .merge(org::api_router())
                .merge(admin::api_router())
                .merge(reservations::api_router())
                .merge(calendar::api_router())
                .merge(feed::api_router())
                .merge(payments::api_router())
                .merge(counter::api_router()),
        )
        .merge(ops::router())
        .fallback(home::not_found)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The lines of `source` (a file at `relative`, a path under `routes/`) that reach into
    /// another capability: a `crate::routes` path, or enough `super::` to climb out of the
    /// file's own capability folder. Comments are skipped.
    fn foreign_imports(relative: &Path, source: &str) -> Vec<String> {
        let mut parts: Vec<String> = relative
            .with_extension("")
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        // From a module `depth` levels below `routes`, that many `super::` reach `routes`
        // itself, and from there any other capability.
        let depth = parts.len();
        let climb_out = "super::".repeat(depth);
        // Built at run time so that this file does not match itself.
        let crate_routes = format!("{}::routes", "crate");
        let grouped_routes = format!("{}routes::", "{");
        source
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with("//"))
            .filter(|line| {
                line.contains(&crate_routes)
                    || line.contains(&grouped_routes)
                    || (depth > 0 && line.contains(&climb_out))
            })
            .map(|line| format!("{}: {line}", relative.display()))
            .collect()
    }

    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("the routes folder is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    #[test]
    fn no_route_module_imports_another_capability() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        assert!(files.len() > 10, "the route files were found");
        let mut offending = Vec::new();
        for file in &files {
            let source = std::fs::read_to_string(file).expect("a route file is readable");
            let relative = file.strip_prefix(&root).expect("under routes/");
            offending.extend(foreign_imports(relative, &source));
        }
        assert!(
            offending.is_empty(),
            "route modules import another capability; move what they share to \
             crate::view, crate::input or a module outside routes/:\n{}",
            offending.join("\n")
        );
    }

    #[test]
    fn the_check_catches_imports_across_capabilities_and_allows_those_within_one() {
        let crate_routes = format!("use {}::routes::org::api::RoleInput;", "crate");
        assert_eq!(
            foreign_imports(Path::new("accounts/pages.rs"), &crate_routes).len(),
            1
        );
        let climb = "use super::super::org::pages::staff_base;";
        assert_eq!(
            foreign_imports(Path::new("calendar/pages.rs"), climb).len(),
            1
        );
        assert_eq!(
            foreign_imports(Path::new("home.rs"), "use super::feed;").len(),
            1
        );
        let deep = "use super::super::super::admin::api::audit;";
        assert_eq!(
            foreign_imports(Path::new("reservations/staff_pages/proxy.rs"), deep).len(),
            1
        );
        let grouped = format!("use {}::{}routes::org::api, http::Ctx}};", "crate", "{");
        assert_eq!(
            foreign_imports(Path::new("line/hook.rs"), &grouped).len(),
            1
        );
        // Within a capability, siblings and the capability's own shared helpers are fine.
        let within = "use super::api::{ApplicantInput, parse_date};\nuse super::super::api::reservation_response;";
        assert!(
            foreign_imports(
                Path::new("reservations/flows_api.rs"),
                "use super::api::parse_date;"
            )
            .is_empty()
        );
        assert!(
            foreign_imports(Path::new("reservations/staff_pages/detail.rs"), within).is_empty()
        );
        assert!(
            foreign_imports(
                Path::new("reservations/staff_pages/mod.rs"),
                "use super::api::parse_date;"
            )
            .is_empty()
        );
    }
}
