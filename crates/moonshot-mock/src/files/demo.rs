//! The built-in demo files.

use serde_json::json;

use super::MockFile;

/// Id of the demo PDF `moonshot-intro.pdf` (purpose `file-extract`, with extracted text).
pub const DEMO_PDF_ID: &str = "mock-intro-pdf";
/// Id of the demo image `architecture-diagram.png` (purpose `image`, no extracted text).
pub const DEMO_IMAGE_ID: &str = "mock-diagram-png";
/// Id of the demo batch result (purpose `batch_output`, a value the docs do not list).
pub const DEMO_BATCH_OUTPUT_ID: &str = "mock-batch-output";
/// Id of the demo scan whose extraction failed (status `failed`; its content request is a 500).
pub const DEMO_FAILED_ID: &str = "mock-scan-failed";

/// `created_at` of the demo files: 2024-05-29T16:26:40Z.
const DEMO_CREATED_AT: i64 = 1_717_000_000;

/// The built-in demo files, sorted by id: see the `DEMO_*_ID` constants.
pub fn demo_files() -> Vec<MockFile> {
    let files = [
        (
            json!({
                "id": DEMO_BATCH_OUTPUT_ID,
                "object": "file",
                "bytes": 412,
                "created_at": DEMO_CREATED_AT + 3_600,
                "filename": "batch_output.jsonl",
                "purpose": "batch_output",
                "status": "ok",
                "status_details": "",
            }),
            Some(DEMO_BATCH_OUTPUT_TEXT),
        ),
        (
            json!({
                "id": DEMO_IMAGE_ID,
                "object": "file",
                "bytes": 183_552,
                "created_at": DEMO_CREATED_AT + 120,
                "filename": "architecture-diagram.png",
                "purpose": "image",
                "status": "ok",
                "status_details": "",
            }),
            None,
        ),
        (
            json!({
                "id": DEMO_PDF_ID,
                "object": "file",
                "bytes": 48_213,
                "created_at": DEMO_CREATED_AT,
                "filename": "moonshot-intro.pdf",
                "purpose": "file-extract",
                "status": "ok",
                "status_details": "",
            }),
            Some(DEMO_PDF_TEXT),
        ),
        (
            json!({
                "id": DEMO_FAILED_ID,
                "object": "file",
                "bytes": 2_310_144,
                "created_at": DEMO_CREATED_AT + 7_200,
                "filename": "scanned-contract.pdf",
                "purpose": "file-extract",
                "status": "failed",
                "status_details": "no text layer found in the document",
            }),
            None,
        ),
    ];
    files
        .into_iter()
        .filter_map(|(object, text)| MockFile::new(object, text.map(str::to_owned)).ok())
        .collect()
}

const DEMO_PDF_TEXT: &str = "Moonshot AI Platform: Getting Started\n\
\n\
Kimi reads long documents so that you do not have to paste them into a prompt. Upload a PDF, \
Word, Excel, PowerPoint or plain-text file with purpose file-extract; the platform extracts its \
text in the background and marks the file ok once the text is ready. Retrieve the extracted text \
from /v1/files/{file_id}/content and place it, unchanged, in a system message ahead of your \
question: the model then answers from the document, quoting its sections and page headings.\n\
\n\
Each account can keep up to 1,000 files of at most 100 MB each, 10 GB in total. Delete files you \
no longer need; extracted text stays available for as long as the file exists.\n";

const DEMO_BATCH_OUTPUT_TEXT: &str = r#"{"id": "batch-req-1", "custom_id": "request-1", "response": {"status_code": 200, "body": {"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "Hello!"}}]}}}
{"id": "batch-req-2", "custom_id": "request-2", "response": {"status_code": 200, "body": {"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "Bonjour !"}}]}}}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_files_are_all_valid() {
        let ids: Vec<_> = demo_files().iter().map(|f| f.id().to_owned()).collect();
        assert_eq!(
            ids,
            [
                DEMO_BATCH_OUTPUT_ID,
                DEMO_IMAGE_ID,
                DEMO_PDF_ID,
                DEMO_FAILED_ID
            ]
        );
    }
}
