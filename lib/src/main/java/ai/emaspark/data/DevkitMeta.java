package ai.emaspark.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The ILSVRC2012 devkit's {@code data/meta.mat}: its {@code synsets} struct array maps each
 * ILSVRC2012_ID (the numbers in {@code ILSVRC2012_validation_ground_truth.txt}, in devkit order, not
 * sorted by wnid) to a WNID. A reader of just the part of MATLAB's level-5 MAT format that this file
 * uses: (compressed) matrices, structs, char and numeric arrays. Every size read from the file is
 * checked against what is left of it before anything is allocated, and inflating stops at
 * {@link #MAX_INFLATED} bytes: a damaged or hostile file is an error, not an out-of-memory.
 */
public final class DevkitMeta {
    private static final int MI_INT8 = 1;
    private static final int MI_UINT8 = 2;
    private static final int MI_INT16 = 3;
    private static final int MI_UINT16 = 4;
    private static final int MI_INT32 = 5;
    private static final int MI_UINT32 = 6;
    private static final int MI_SINGLE = 7;
    private static final int MI_DOUBLE = 9;
    private static final int MI_INT64 = 12;
    private static final int MI_UINT64 = 13;
    private static final int MI_MATRIX = 14;
    private static final int MI_COMPRESSED = 15;
    private static final int MI_UTF8 = 16;
    private static final int MX_STRUCT = 2;
    private static final int MX_CHAR = 4;
    /** meta.mat inflates to about 2 MB. */
    static final int MAX_INFLATED = 64 << 20;
    /** ILSVRC2012 has 1,860 synsets. */
    private static final int MAX_SYNSETS = 100_000;

    private DevkitMeta() {}

    /** ILSVRC2012_ID → WNID for every synset of the file (leaves are IDs 1..1000). */
    public static Map<Integer, String> idToWnid(byte[] matFile) throws IOException {
        if (matFile.length < 128 || !new String(matFile, 0, 10, StandardCharsets.US_ASCII).startsWith("MATLAB 5.0")) {
            throw new IOException("not a MATLAB 5.0 MAT-file");
        }
        try {
            return read(matFile);
        } catch (RuntimeException e) { // sizes and types that do not add up: a damaged file
            throw new IOException("damaged MAT-file: " + e.getMessage(), e);
        }
    }

    private static Map<Integer, String> read(byte[] matFile) throws IOException {
        ByteOrder order = matFile[126] == 'I' ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN;
        ByteBuffer buffer = ByteBuffer.wrap(matFile, 128, matFile.length - 128).slice().order(order);
        while (buffer.remaining() >= 8) {
            Element element = readElement(buffer);
            if (element.type == MI_COMPRESSED) {
                ByteBuffer inflated = ByteBuffer.wrap(inflate(element.data)).order(order);
                element = readElement(inflated);
            }
            if (element.type == MI_MATRIX) {
                Map<Integer, String> map = synsets(ByteBuffer.wrap(element.data).order(order));
                if (map != null) {
                    return map;
                }
            }
        }
        throw new IOException("no 'synsets' struct array in the MAT-file");
    }

    private record Element(int type, byte[] data) {}

    /** One data element: tag (or the small-element form), data, padding to 8 bytes. */
    private static Element readElement(ByteBuffer buffer) {
        int first = buffer.getInt();
        if ((first >>> 16) != 0) { // small element: 2-byte size, 2-byte type, 4 bytes of data
            int size = first >>> 16;
            byte[] data = new byte[4];
            buffer.get(data);
            return new Element(first & 0xffff, java.util.Arrays.copyOf(data, size));
        }
        int size = buffer.getInt();
        if (size < 0 || size > buffer.remaining()) {
            throw new IllegalArgumentException("an element of " + Integer.toUnsignedString(size) + " bytes where "
                    + buffer.remaining() + " are left");
        }
        byte[] data = new byte[size];
        buffer.get(data);
        if (first != MI_COMPRESSED) {
            int padding = (8 - size % 8) % 8;
            buffer.position(Math.min(buffer.limit(), buffer.position() + padding));
        }
        return new Element(first, data);
    }

    private static byte[] inflate(byte[] compressed) throws IOException {
        Inflater inflater = new Inflater();
        inflater.setInput(compressed);
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(compressed.length * 4, 1 << 20));
        byte[] chunk = new byte[1 << 16];
        try {
            while (!inflater.finished()) {
                int n = inflater.inflate(chunk);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                if (out.size() + n > MAX_INFLATED) {
                    throw new IOException("a compressed element inflates beyond " + (MAX_INFLATED >> 20) + " MB");
                }
                out.write(chunk, 0, n);
            }
        } catch (DataFormatException e) {
            throw new IOException("corrupt compressed element: " + e.getMessage(), e);
        } finally {
            inflater.end();
        }
        return out.toByteArray();
    }

    /** The synsets struct as ID → WNID, or null when this matrix is something else. */
    private static Map<Integer, String> synsets(ByteBuffer matrix) {
        int[] flags = ints(readElement(matrix));
        int[] dims = ints(readElement(matrix));
        String name = new String(readElement(matrix).data, StandardCharsets.US_ASCII);
        if ((flags[0] & 0xff) != MX_STRUCT || !name.equals("synsets")) {
            return null;
        }
        int nameLength = ints(readElement(matrix))[0];
        byte[] names = readElement(matrix).data;
        if (nameLength <= 0 || names.length % nameLength != 0) {
            throw new IllegalArgumentException("field names of " + names.length + " bytes in " + nameLength + "-byte slots");
        }
        int fields = names.length / nameLength;
        int idField = -1;
        int wnidField = -1;
        for (int f = 0; f < fields; f++) {
            String field = new String(names, f * nameLength, nameLength, StandardCharsets.US_ASCII).trim().replace("\0", "");
            idField = field.equals("ILSVRC2012_ID") ? f : idField;
            wnidField = field.equals("WNID") ? f : wnidField;
        }
        long count = 1;
        for (int dim : dims) {
            count *= dim;
            if (dim < 0 || count > MAX_SYNSETS) {
                throw new IllegalArgumentException("a synsets array of dimensions " + java.util.Arrays.toString(dims));
            }
        }
        Map<Integer, String> map = new HashMap<>();
        for (int i = 0; i < count; i++) {
            Integer id = null;
            String wnid = null;
            for (int f = 0; f < fields; f++) {
                Element field = readElement(matrix);
                if (f == idField) {
                    id = (int) Math.round(numeric(field));
                } else if (f == wnidField) {
                    wnid = chars(field);
                }
            }
            map.put(id, wnid);
        }
        return map;
    }

    /** The first value of a numeric matrix, whatever type MATLAB stored it as. */
    private static double numeric(Element matrix) {
        ByteBuffer in = ByteBuffer.wrap(matrix.data).order(ByteOrder.LITTLE_ENDIAN);
        readElement(in);
        readElement(in);
        readElement(in);
        Element real = readElement(in);
        ByteBuffer data = ByteBuffer.wrap(real.data).order(ByteOrder.LITTLE_ENDIAN);
        return switch (real.type) {
            case MI_INT8 -> data.get();
            case MI_UINT8 -> data.get() & 0xff;
            case MI_INT16 -> data.getShort();
            case MI_UINT16 -> data.getShort() & 0xffff;
            case MI_INT32 -> data.getInt();
            case MI_UINT32 -> data.getInt() & 0xffffffffL;
            case MI_SINGLE -> data.getFloat();
            case MI_DOUBLE -> data.getDouble();
            case MI_INT64, MI_UINT64 -> data.getLong();
            default -> throw new IllegalArgumentException("unexpected numeric type " + real.type);
        };
    }

    private static String chars(Element matrix) {
        ByteBuffer in = ByteBuffer.wrap(matrix.data).order(ByteOrder.LITTLE_ENDIAN);
        int[] flags = ints(readElement(in));
        if ((flags[0] & 0xff) != MX_CHAR) {
            throw new IllegalArgumentException("WNID is not a char array");
        }
        readElement(in);
        readElement(in);
        Element real = readElement(in);
        if (real.type == MI_UTF8 || real.type == MI_UINT8 || real.type == MI_INT8) {
            return new String(real.data, StandardCharsets.UTF_8);
        }
        StringBuilder text = new StringBuilder();
        ByteBuffer data = ByteBuffer.wrap(real.data).order(ByteOrder.LITTLE_ENDIAN);
        while (data.remaining() >= 2) {
            text.append((char) data.getShort());
        }
        return text.toString();
    }

    private static int[] ints(Element element) {
        ByteBuffer data = ByteBuffer.wrap(element.data).order(ByteOrder.LITTLE_ENDIAN);
        int[] values = new int[element.data.length / 4];
        for (int i = 0; i < values.length; i++) {
            values[i] = data.getInt();
        }
        return values;
    }
}
