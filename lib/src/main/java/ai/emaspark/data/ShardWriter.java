package ai.emaspark.data;

import java.io.IOException;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;

/**
 * Writes one Parquet shard of images to any Hadoop FileSystem, hashing the bytes as they go out so
 * the manifest's checksum costs no second read. JPEG bytes do not compress: no codec.
 */
public final class ShardWriter implements AutoCloseable {
    private static final int ROW_GROUP_BYTES = 32 << 20;

    private final FileSystem fs;
    private final Path path;
    private final MessageDigest sha;
    private final ParquetWriter<Group> writer;
    private final SimpleGroupFactory rows = new SimpleGroupFactory(ShardSchema.SCHEMA);
    private long count;

    public ShardWriter(FileSystem fs, Path path, Configuration conf) throws IOException {
        this.fs = fs;
        this.path = path;
        this.sha = sha256();
        this.writer = ExampleParquetWriter.builder(new DigestingOutputFile(fs, path, sha))
                .withConf(conf)
                .withType(ShardSchema.SCHEMA)
                .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
                .withCompressionCodec(CompressionCodecName.UNCOMPRESSED)
                .withRowGroupSize((long) ROW_GROUP_BYTES)
                .withDictionaryEncoding(false)
                .build();
    }

    public void write(ImageRow row) throws IOException {
        writer.write(rows.newGroup()
                .append("key", row.key())
                .append("label", row.label())
                .append("wnid", row.wnid())
                .append("image", org.apache.parquet.io.api.Binary.fromConstantByteArray(row.image()))
                .append("width", row.width())
                .append("height", row.height()));
        count++;
    }

    /** Closes the file and describes it. */
    public ShardInfo finish() throws IOException {
        writer.close();
        return new ShardInfo(path.getName(), count, fs.getFileStatus(path).getLen(), HexFormat.of().formatHex(sha.digest()));
    }

    @Override
    public void close() throws IOException {
        writer.close();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A Parquet output file whose every byte also goes through a digest. */
    private static final class DigestingOutputFile implements OutputFile {
        private final FileSystem fs;
        private final Path path;
        private final MessageDigest digest;

        DigestingOutputFile(FileSystem fs, Path path, MessageDigest digest) {
            this.fs = fs;
            this.path = path;
            this.digest = digest;
        }

        @Override
        public PositionOutputStream create(long blockSizeHint) throws IOException {
            return createOrOverwrite(blockSizeHint);
        }

        @Override
        public PositionOutputStream createOrOverwrite(long blockSizeHint) throws IOException {
            // Not recursive: the driver made the folder, and once it removed it (a failed run), a task
            // still running fails here instead of making the folder again.
            FSDataOutputStream out = fs.createNonRecursive(path, true, fs.getConf().getInt("io.file.buffer.size", 4096),
                    fs.getDefaultReplication(path), fs.getDefaultBlockSize(path), null);
            DigestOutputStream digesting = new DigestOutputStream(out, digest);
            return new PositionOutputStream() {
                @Override
                public long getPos() throws IOException {
                    return out.getPos();
                }

                @Override
                public void write(int b) throws IOException {
                    digesting.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    digesting.write(b, off, len);
                }

                @Override
                public void flush() throws IOException {
                    digesting.flush();
                }

                @Override
                public void close() throws IOException {
                    digesting.close();
                }
            };
        }

        @Override
        public boolean supportsBlockSize() {
            return false;
        }

        @Override
        public long defaultBlockSize() {
            return 0;
        }

        @Override
        public String getPath() {
            return path.toString();
        }
    }
}
