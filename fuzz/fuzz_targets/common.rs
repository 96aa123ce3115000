use pobridge_cxml::ReadError;

/// Maximum length of an error's text. `ReadError` quotes at most 64
/// characters of any value, so its text stays short whatever the input. A
/// longer text means that some part of the input is quoted whole.
const MAX_ERROR_BYTES: usize = 2048;

/// Formats an error the way the order endpoint does and checks that its text
/// is bounded.
pub fn check_error(error: &ReadError) {
    let status = error.status();
    assert!(status == 400 || status == 406, "status {status}");
    let text = error.to_string();
    assert!(
        text.len() <= MAX_ERROR_BYTES,
        "error text of {} bytes: {}...",
        text.len(),
        text.chars().take(200).collect::<String>()
    );
}
