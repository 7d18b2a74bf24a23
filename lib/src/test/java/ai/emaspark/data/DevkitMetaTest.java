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
}
