package ai.emaspark.data;

import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

/** The Parquet schema of a shard: one row per image, readable by pyarrow/pandas/Spark as is. */
public final class ShardSchema {
    public static final MessageType SCHEMA = MessageTypeParser.parseMessageType(
            "message image {\n"
                    + "  required binary key (STRING);\n"
                    + "  required int32 label;\n"
                    + "  required binary wnid (STRING);\n"
                    + "  required binary image;\n"
                    + "  required int32 width;\n"
                    + "  required int32 height;\n"
                    + "}");

    private ShardSchema() {}
}
