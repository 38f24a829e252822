//! Host facts (read under the root prefix) and the settings derived from them.
