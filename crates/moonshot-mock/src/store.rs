//! The files a server holds: the configured ones and the uploaded ones, with the accounting that
//! keeps uploads within their memory limit and the account within Moonshot's file count.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

use crate::files::MockFile;
use crate::json::escaped_len;
use crate::limits::{MAX_FILE_BYTES, MAX_FILES};

/// What the content endpoint answers for one file once it is processed; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) enum ServedContent {
    /// Extracted text (UTF-8), sent inside the real API's JSON envelope.
    Text {
        filename: String,
        text: Bytes,
        /// The length of `text` once escaped as a JSON string, without its quotes.
        escaped_len: u64,
    },
    /// A body of `size` bytes generated while it is sent.
    Generated { filename: String, size: u64 },
    /// No extracted text: a 500 like a failed extraction, with this reason.
    ExtractionFailed(String),
    /// Bytes served as they are, without the JSON envelope: the output and error files of
    /// batches, JSON Lines.
    Raw(Bytes),
}

/// One file as the routes serve it, its file objects serialized once.
#[derive(Debug)]
pub(crate) struct StoredFile {
    /// The file object once processing is over.
    pub(crate) object: Bytes,
    pub(crate) content: ServedContent,
    /// Orders the list, newest first.
    pub(crate) created_at: i64,
    /// Until when the file is still processing, and the file object shown until then.
    pub(crate) processing: Option<(Instant, Bytes)>,
    /// Bytes of this file counted against the upload memory limit.
    pub(crate) held_bytes: u64,
}

/// A file as one request sees it.
#[derive(Debug, Clone)]
pub(crate) enum FileView {
    /// Still processing: its file object says so and it has no content yet.
    Processing { object: Bytes },
    /// Processed: its final file object and content.
    Ready {
        object: Bytes,
        content: ServedContent,
    },
}

impl StoredFile {
    fn view(&self, now: Instant) -> FileView {
        if let Some((until, object)) = &self.processing
            && now < *until
        {
            return FileView::Processing {
                object: object.clone(),
            };
        }
        FileView::Ready {
            object: self.object.clone(),
            content: self.content.clone(),
        }
    }
}

impl FileView {
    /// The file object as it reads now.
    pub(crate) fn object(&self) -> &Bytes {
        match self {
            Self::Processing { object } | Self::Ready { object, .. } => object,
        }
    }
}

/// `prefix` and 20 random characters (base32, lowercase, as xid writes them).
pub(crate) fn random_id(prefix: &str) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    prefix
        .chars()
        .chain((0..20).map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())])))
        .collect()
}

/// Why an upload was refused by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreRefusal {
    /// The account already holds [`MAX_FILES`] files (uploads in flight included).
    TooManyFiles,
    /// The file is larger than [`MAX_FILE_BYTES`].
    FileTooLarge,
    /// Keeping the file would take uploads past the memory limit.
    MemoryFull {
        /// The configured limit.
        limit: u64,
    },
}

/// The files of one server and the bytes uploads hold.
#[derive(Debug)]
pub(crate) struct Store {
    inner: Mutex<Inner>,
    memory_limit: u64,
    processing_delay: Duration,
}

#[derive(Debug, Default)]
struct Inner {
    files: HashMap<String, StoredFile>,
    /// Bytes held by uploaded files and by uploads in flight.
    held_bytes: u64,
    /// Uploads in flight, each holding one of the account's file slots.
    uploads_in_flight: usize,
}

impl Store {
    pub(crate) fn new(
        files: HashMap<String, StoredFile>,
        memory_limit: u64,
        processing_delay: Duration,
    ) -> Self {
        Self {
            inner: Mutex::new(Inner {
                files,
                ..Inner::default()
            }),
            memory_limit,
            processing_delay,
        }
    }

    // A handler cannot panic while holding the lock in a way that leaves the map inconsistent:
    // every update is a single insert, remove or addition.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long a new upload stays processing.
    pub(crate) fn processing_delay(&self) -> Duration {
        self.processing_delay
    }

    /// The file `id` as it reads now.
    pub(crate) fn get(&self, id: &str) -> Option<FileView> {
        let now = Instant::now();
        self.lock().files.get(id).map(|file| file.view(now))
    }

    /// The file objects of every file as they read now, newest first, then by id.
    pub(crate) fn list(&self) -> Vec<Bytes> {
        let now = Instant::now();
        let inner = self.lock();
        let mut files: Vec<_> = inner.files.iter().collect();
        files.sort_by(|(a_id, a), (b_id, b)| {
            b.created_at.cmp(&a.created_at).then_with(|| a_id.cmp(b_id))
        });
        files
            .into_iter()
            .map(|(_, file)| file.view(now).object().clone())
            .collect()
    }

    /// The ids of every file, sorted.
    pub(crate) fn ids(&self) -> Vec<String> {
        let mut ids: Vec<_> = self.lock().files.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// An id no file of the store has: see [`random_id`].
    pub(crate) fn unused_id(&self, prefix: &str) -> String {
        loop {
            let id = random_id(prefix);
            if !self.contains(&id) {
                return id;
            }
        }
    }

    /// Keeps a file the server made itself (a batch's output), counting its bytes against the
    /// memory limit but not refusing it: the real API writes results whatever the account holds.
    pub(crate) fn insert_made(&self, id: String, mut file: StoredFile) {
        file.held_bytes = match &file.content {
            ServedContent::Raw(bytes) => bytes.len() as u64,
            ServedContent::Text { text, .. } => text.len() as u64,
            _ => 0,
        };
        let mut inner = self.lock();
        inner.held_bytes += file.held_bytes;
        if let Some(old) = inner.files.insert(id, file) {
            inner.held_bytes -= old.held_bytes;
        }
    }

    /// Whether a file `id` exists.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.lock().files.contains_key(id)
    }

    /// Removes the file `id`, releasing the memory it held; `false` if there was none.
    pub(crate) fn delete(&self, id: &str) -> bool {
        let mut inner = self.lock();
        match inner.files.remove(id) {
            Some(file) => {
                inner.held_bytes -= file.held_bytes;
                true
            }
            None => false,
        }
    }

    /// Bytes held by uploaded files and uploads in flight.
    pub(crate) fn held_bytes(&self) -> u64 {
        self.lock().held_bytes
    }

    /// Takes one of the account's file slots for an upload about to be read.
    ///
    /// # Errors
    ///
    /// [`StoreRefusal::TooManyFiles`] when the files held and the uploads in flight already
    /// reach [`MAX_FILES`].
    pub(crate) fn begin_upload(&self) -> Result<Upload<'_>, StoreRefusal> {
        let mut inner = self.lock();
        if inner.files.len() + inner.uploads_in_flight >= MAX_FILES {
            return Err(StoreRefusal::TooManyFiles);
        }
        inner.uploads_in_flight += 1;
        Ok(Upload {
            store: self,
            buffer: Vec::new(),
            counted: 0,
            finished: false,
        })
    }
}

/// An upload being read: its file slot and its buffer, both given back if it is dropped unfinished.
#[derive(Debug)]
pub(crate) struct Upload<'a> {
    store: &'a Store,
    /// The bytes read so far.
    buffer: Vec<u8>,
    /// The buffer's capacity as reserved, counted against the memory limit.
    counted: u64,
    finished: bool,
}

impl Upload<'_> {
    /// Appends a chunk of the file, growing the buffer within the memory limit.
    ///
    /// # Errors
    ///
    /// [`StoreRefusal::FileTooLarge`] once the file passes [`MAX_FILE_BYTES`];
    /// [`StoreRefusal::MemoryFull`] when the limit leaves no room for the chunk. Nothing is
    /// appended then.
    pub(crate) fn append(&mut self, chunk: &[u8]) -> Result<(), StoreRefusal> {
        let needed = (self.buffer.len() + chunk.len()) as u64;
        if needed > MAX_FILE_BYTES {
            return Err(StoreRefusal::FileTooLarge);
        }
        if needed > self.counted {
            // Double as a Vec would, but never past the per-file limit or the memory left.
            let mut inner = self.store.lock();
            let available = self.counted + self.store.memory_limit.saturating_sub(inner.held_bytes);
            if needed > available {
                return Err(StoreRefusal::MemoryFull {
                    limit: self.store.memory_limit,
                });
            }
            let grown = (self.counted * 2).clamp(needed, MAX_FILE_BYTES.min(available));
            inner.held_bytes += grown - self.counted;
            drop(inner);
            self.counted = grown;
            // `grown` is at most MAX_FILE_BYTES, which fits a usize on any supported target.
            self.buffer
                .reserve_exact(usize::try_from(grown).unwrap_or(usize::MAX) - self.buffer.len());
        }
        self.buffer.extend_from_slice(chunk);
        Ok(())
    }

    /// The bytes read so far.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buffer
    }

    /// Stores the upload as file `id`, built by `build` from the bytes read; it keeps (and
    /// counts) the bytes only when its content is their text. Returns the file object as it
    /// reads now.
    pub(crate) fn finish(mut self, id: String, build: impl FnOnce(Bytes) -> StoredFile) -> Bytes {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.shrink_to_fit();
        let mut file = build(Bytes::from(buffer));
        file.held_bytes = match &file.content {
            ServedContent::Text { text, .. } => text.len() as u64,
            _ => 0,
        };
        let shown = file.view(Instant::now()).object().clone();
        let mut inner = self.store.lock();
        inner.held_bytes = inner.held_bytes - self.counted + file.held_bytes;
        inner.uploads_in_flight -= 1;
        inner.files.insert(id, file);
        self.finished = true;
        shown
    }
}

impl Drop for Upload<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut inner = self.store.lock();
        inner.held_bytes -= self.counted;
        inner.uploads_in_flight -= 1;
    }
}

/// A configured file (demo, fixture or built in code) as the store keeps it: always processed.
pub(crate) fn stored_file(file: &MockFile) -> StoredFile {
    let purpose = file.object().get("purpose").and_then(Value::as_str);
    let content = match file.content() {
        Some(text) if purpose.is_some_and(is_batch_result) => {
            ServedContent::Raw(Bytes::from(text.to_owned()))
        }
        Some(text) => text_content(file.filename(), Bytes::from(text.to_owned())),
        None => ServedContent::ExtractionFailed(match file.status_details() {
            "" => format!("file {} has no extracted content", file.id()),
            details => details.to_owned(),
        }),
    };
    StoredFile {
        object: Value::Object(file.object().clone()).to_string().into(),
        content,
        created_at: file
            .object()
            .get("created_at")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
        processing: None,
        held_bytes: 0,
    }
}

/// Whether files of `purpose` are a batch's results, served as the JSON Lines they are.
pub(crate) fn is_batch_result(purpose: &str) -> bool {
    matches!(purpose, "batch_output" | "batch_error")
}

/// Content served from `text`, which must be UTF-8.
pub(crate) fn text_content(filename: &str, text: Bytes) -> ServedContent {
    let escaped_len = std::str::from_utf8(&text)
        .map(escaped_len)
        .unwrap_or_default();
    ServedContent::Text {
        filename: filename.to_owned(),
        text,
        escaped_len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::json_string;
    use serde_json::json;

    #[test]
    fn an_upload_grows_within_the_limit_and_gives_back_what_it_held() {
        let store = Store::new(HashMap::new(), 100, Duration::ZERO);
        let mut upload = store.begin_upload().expect("a free slot");
        upload.append(&[b'a'; 60]).expect("room for 60");
        upload.append(&[b'b'; 30]).expect("room for 90");
        assert!(
            (90..=100).contains(&store.held_bytes()),
            "{}",
            store.held_bytes()
        );
        assert_eq!(
            upload.append(&[b'c'; 20]),
            Err(StoreRefusal::MemoryFull { limit: 100 })
        );
        assert_eq!(upload.bytes().len(), 90, "nothing appended on refusal");
        drop(upload);
        assert_eq!(store.held_bytes(), 0);

        let upload = store.begin_upload().expect("the slot was given back");
        let mut second = store.begin_upload().expect("another slot");
        second.append(b"text").expect("room");
        second.finish("file-1".to_owned(), |text| StoredFile {
            object: Bytes::from_static(b"{}"),
            content: ServedContent::Text {
                filename: "a.txt".to_owned(),
                text,
                escaped_len: 4,
            },
            created_at: 0,
            processing: None,
            held_bytes: 0,
        });
        drop(upload);
        assert_eq!(store.held_bytes(), 4, "the stored text stays counted");
        assert!(store.delete("file-1"));
        assert_eq!(store.held_bytes(), 0);
    }

    #[test]
    fn a_configured_file_keeps_its_text_and_object() {
        let file = MockFile::new(
            json!({"id": "a", "object": "file", "bytes": 1, "created_at": 5,
                   "filename": "a.txt", "purpose": "file-extract", "status": "ok"}),
            Some("\"quoted\"".to_owned()),
        )
        .expect("a valid file object");
        let stored = stored_file(&file);
        assert_eq!(stored.created_at, 5);
        assert!(matches!(
            stored.content,
            ServedContent::Text { escaped_len, .. }
                if escaped_len == json_string("\"quoted\"").len() as u64 - 2
        ));
    }
}
