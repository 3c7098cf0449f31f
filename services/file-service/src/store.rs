//! Streaming uploads to S3: bytes arrive in pieces (from the sandbox, through gzip) and leave
//! as multipart-upload parts, so no object is ever held whole in memory.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

/// Part size: S3's minimum is 5 MiB for every part but the last.
const PART_BYTES: usize = 8 * 1024 * 1024;

pub struct Upload {
    s3: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    buffer: Vec<u8>,
    total: u64,
}

impl Upload {
    pub fn new(s3: aws_sdk_s3::Client, bucket: &str, key: &str) -> Self {
        Self {
            s3,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            upload_id: None,
            parts: Vec::new(),
            buffer: Vec::with_capacity(PART_BYTES),
            total: 0,
        }
    }

    pub async fn push(&mut self, data: &[u8]) -> anyhow::Result<()> {
        self.buffer.extend_from_slice(data);
        self.total += data.len() as u64;
        if self.buffer.len() >= PART_BYTES {
            self.flush_part().await?;
        }
        Ok(())
    }

    async fn flush_part(&mut self) -> anyhow::Result<()> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let created = self
                    .s3
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map_err(describe)?;
                let id = created
                    .upload_id()
                    .ok_or_else(|| anyhow::anyhow!("S3 gave no upload id"))?
                    .to_owned();
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = i32::try_from(self.parts.len() + 1)?;
        let body = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_BYTES));
        let part = self
            .s3
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(describe)?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(part.e_tag().map(str::to_owned))
                .build(),
        );
        Ok(())
    }

    /// Completes the object; returns its size in bytes.
    pub async fn finish(mut self) -> anyhow::Result<u64> {
        if self.upload_id.is_none() {
            // Small enough for one request.
            let body = std::mem::take(&mut self.buffer);
            self.s3
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(describe)?;
            return Ok(self.total);
        }
        if !self.buffer.is_empty() {
            self.flush_part().await?;
        }
        let parts = std::mem::take(&mut self.parts);
        self.s3
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(self.upload_id.clone().unwrap_or_default())
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(describe)?;
        Ok(self.total)
    }

    /// Drops what was uploaded so far (best effort).
    pub async fn abort(self) {
        if let Some(upload_id) = &self.upload_id {
            if let Err(err) = self
                .s3
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(upload_id)
                .send()
                .await
            {
                tracing::warn!(key = %self.key, error = %describe(err), "aborting a multipart upload failed");
            }
        }
    }
}

pub fn describe<E: std::error::Error + Send + Sync + 'static>(err: E) -> anyhow::Error {
    anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(err))
}
