//! Names the CLI gives the code it generates around a plugin. Shared by
//! `sandbox` (which builds it) and `failure` (which hides it from stacks).

/// The wrapper module that makes a plugin whose `module.exports` is a
/// function callable by name. It is CommonJS, so `.cjs`: inside a package
/// whose package.json says `"type": "module"` a `.js` file is an ES module.
pub const MAIN_MODULE: &str = "__jsbox_main.cjs";
/// The wrapper's export that calls the plugin.
pub const MAIN_EXPORT: &str = "main";
