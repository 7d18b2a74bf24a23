package ai.emaspark.infer;

import ai.emaspark.data.Manifest;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * What class index i means: the prepared dataset's wnid (class index = position in the sorted wnids, as
 * Prepare numbers them) and human name (null when the dataset had no synset mapping).
 */
public record ClassLabels(List<String> wnids, List<String> names) implements Serializable {
    public ClassLabels {
        wnids = List.copyOf(wnids);
        names = java.util.Collections.unmodifiableList(new ArrayList<>(names)); // may hold nulls, which List.copyOf refuses
    }

    public int count() {
        return wnids.size();
    }

    /**
     * The classes of the prepared dataset at {@code dataset} (its folder or its manifest.json), which must
     * have {@code numClasses} of them (MODEL.NUM_CLASSES of the checkpoint).
     */
    public static ClassLabels of(FileSystem fs, Path dataset, int numClasses) throws IOException {
        Path folder = dataset.getName().equals(Manifest.FILE) ? dataset.getParent() : dataset;
        Manifest manifest;
        try {
            manifest = Manifest.read(fs, folder);
        } catch (FileNotFoundException e) {
            throw new InferenceException("no " + Manifest.FILE + " in " + folder + ", the prepared dataset that names the classes: "
                    + "if it has moved, give its new place (setDataset, or --dataset for Predict)");
        }
        List<String> wnids = manifest.classes();
        if (wnids.size() != numClasses) {
            throw new InferenceException("the dataset " + folder + " has " + wnids.size() + " classes but the checkpoint's model has "
                    + numClasses + " (MODEL.NUM_CLASSES): give the dataset it was trained on");
        }
        List<String> names = new ArrayList<>();
        for (String wnid : wnids) {
            names.add(manifest.classNames() == null ? null : manifest.classNames().get(wnid));
        }
        return new ClassLabels(wnids, names);
    }
}
