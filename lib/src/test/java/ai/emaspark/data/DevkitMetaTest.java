package ai.emaspark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** meta.mat files written by scipy.io.savemat (compressed and not) in the devkit's synsets layout. */
class DevkitMetaTest {
    private static byte[] resource(String name) throws IOException {
        try (InputStream in = DevkitMetaTest.class.getResourceAsStream("/devkit/" + name)) {
            return in.readAllBytes();
        }
    }

    @Test
    void readsIdToWnidFromBothForms() throws Exception {
        Map<Integer, String> expected = Map.of(1, "n01484850", 2, "n01440764", 3, "n01491361", 4, "n01443537",
                1001, "n00001740");
        assertEquals(expected, DevkitMeta.idToWnid(resource("meta-compressed.mat")));
        assertEquals(expected, DevkitMeta.idToWnid(resource("meta-plain.mat")));
    }

    @Test
    void somethingElseIsRefused() {
        assertThrows(IOException.class, () -> DevkitMeta.idToWnid("not a mat file at all, but long enough".repeat(5).getBytes()));
    }

    /** A MAT-file header and then one element tag claiming {@code size} bytes of {@code type}. */
    private static byte[] header(int type, int size, byte[] data) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(128 + 8 + data.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        byte[] text = "MATLAB 5.0 MAT-file, damaged on purpose".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        b.put(text);
        b.position(124);
        b.putShort((short) 0x0100).put((byte) 'I').put((byte) 'M');
        b.putInt(type).putInt(size).put(data);
        return b.array();
    }

    @Test
    void damagedOrHostileFilesAreRefusedWithoutAllocatingWhatTheyClaim() throws Exception {
        byte[] bomb = zlibOfZeros(256 << 20); // a few hundred KB that would inflate to 256 MB
        long before = usedHeap();
        for (int size : new int[] {Integer.MAX_VALUE, -8, 1 << 30}) {
            IOException e = assertThrows(IOException.class, () -> DevkitMeta.idToWnid(header(14, size, new byte[16])));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().startsWith("damaged MAT-file: an element of"), e.getMessage());
        }
        IOException e = assertThrows(IOException.class, () -> DevkitMeta.idToWnid(header(15, bomb.length, bomb)));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("inflates beyond 64 MB"), e.getMessage());
        org.junit.jupiter.api.Assertions.assertTrue(usedHeap() - before < 32L << 20, "nothing of what was claimed was kept");
    }

    private static byte[] zlibOfZeros(int length) {
        java.util.zip.Deflater deflater = new java.util.zip.Deflater(9);
        deflater.setInput(new byte[length]);
        deflater.finish();
        byte[] buffer = new byte[1 << 20];
        java.io.ByteArrayOutputStream compressed = new java.io.ByteArrayOutputStream();
        while (!deflater.finished()) {
            compressed.write(buffer, 0, deflater.deflate(buffer));
        }
        deflater.end();
        return compressed.toByteArray();
    }

    private static long usedHeap() {
        Runtime runtime = Runtime.getRuntime();
        System.gc();
        return runtime.totalMemory() - runtime.freeMemory();
    }
}
