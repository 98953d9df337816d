//! Names the CLI gives the code it generates around a plugin. Shared by
//! `sandbox` (which builds it) and `failure` (which hides it from stacks).

/// The wrapper module that makes a plugin whose `module.exports` is a
/// function callable by name.
pub const MAIN_MODULE: &str = "__jsbox_main.js";
/// The wrapper's export that calls the plugin.
pub const MAIN_EXPORT: &str = "main";
