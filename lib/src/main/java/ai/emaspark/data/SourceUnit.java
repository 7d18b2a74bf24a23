package ai.emaspark.data;

import java.io.Serializable;
import java.util.List;

/**
 * A piece of the raw dataset that one prepare task reads: a class folder, a class tar file, or
 * an explicit list of files with their wnids (a chunk of the flat validation folder).
 */
public record SourceUnit(String split, Kind kind, String path, String wnid, List<String> files, List<String> fileWnids)
        implements Serializable {

    public enum Kind {
        CLASS_DIR,
        CLASS_TAR,
        FILES
    }

    public static SourceUnit classDir(String split, String path, String wnid) {
        return new SourceUnit(split, Kind.CLASS_DIR, path, wnid, List.of(), List.of());
    }

    public static SourceUnit classTar(String split, String path, String wnid) {
        return new SourceUnit(split, Kind.CLASS_TAR, path, wnid, List.of(), List.of());
    }

    public static SourceUnit files(String split, List<String> files, List<String> wnids) {
        return new SourceUnit(split, Kind.FILES, "", "", List.copyOf(files), List.copyOf(wnids));
    }
}
