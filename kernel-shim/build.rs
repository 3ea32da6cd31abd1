//! Build-time configuration from the environment: `aiml_no_candidates` when the candidate
//! buffers are 0 bytes (`AIML_SHIM_CANDIDATE_BYTES=0`, or `AIML_SHIM_SLOT_BYTES=0` without
//! it), so that such a build carries no candidate slots at all (`src/ab/none.rs`).

fn main() {
    println!("cargo:rerun-if-env-changed=AIML_SHIM_SLOT_BYTES");
    println!("cargo:rerun-if-env-changed=AIML_SHIM_CANDIDATE_BYTES");
    println!("cargo:rustc-check-cfg=cfg(aiml_no_candidates)");
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let candidate = var("AIML_SHIM_CANDIDATE_BYTES").or_else(|| var("AIML_SHIM_SLOT_BYTES"));
    if candidate.is_some_and(|v| v.trim().parse::<usize>() == Ok(0)) {
        println!("cargo:rustc-cfg=aiml_no_candidates");
    }
}
