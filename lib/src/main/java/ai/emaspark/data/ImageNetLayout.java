package ai.emaspark.data;

import java.io.BufferedReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Lists a dataset in the ILSVRC2012 layout: {@code train/<wnid>/<wnid>_<n>.JPEG}, and a validation
 * split either as {@code val/<wnid>/*.JPEG} or flat ({@code val/ILSVRC2012_val_00000001.JPEG}) with
 * the labels of Kaggle's {@code LOC_val_solution.csv}. Class index = position in the sorted wnids.
 */
public final class ImageNetLayout {
    public static final String VAL_SOLUTION = "LOC_val_solution.csv";

    private ImageNetLayout() {}

    public static DatasetIndex scan(FileSystem fs, Path root, String trainSplit, String valSplit) throws IOException {
        if (!fs.exists(root)) {
            throw new DatasetException("dataset path " + root + " does not exist: check TRAIN.DATASET");
        }
        Path trainDir = new Path(root, trainSplit);
        if (!fs.exists(trainDir)) {
            throw new DatasetException("no training split at " + trainDir + ": expected " + trainSplit
                    + "/<wnid>/*.JPEG under the dataset root (check TRAIN.DATASET and TRAIN.SPLIT)");
        }
        List<Path> classDirs = directories(fs, trainDir);
        if (classDirs.isEmpty()) {
            throw new DatasetException("no class folders in " + trainDir + ": expected " + trainSplit + "/<wnid>/*.JPEG");
        }
        List<String> classes = classDirs.stream().map(Path::getName).toList();
        Map<String, Integer> labels = new HashMap<>();
        for (int i = 0; i < classes.size(); i++) {
            labels.put(classes.get(i), i);
        }
        List<Sample> train = new ArrayList<>();
        for (Path classDir : classDirs) {
            for (Path image : images(fs, classDir)) {
                train.add(new Sample(key(image), image.toString(), labels.get(classDir.getName())));
            }
        }
        if (train.isEmpty()) {
            throw new DatasetException("no images in the class folders of " + trainDir + " (expected *.JPEG files)");
        }
        List<String> unlabeled = new ArrayList<>();
        List<Sample> val = scanVal(fs, root, new Path(root, valSplit), labels, unlabeled);
        return new DatasetIndex(classes, train, val, unlabeled);
    }

    private static List<Sample> scanVal(FileSystem fs, Path root, Path valDir, Map<String, Integer> labels,
            List<String> unlabeled) throws IOException {
        if (!fs.exists(valDir)) {
            throw new DatasetException("no validation split at " + valDir + ": expected val/ with LOC_val_solution.csv, "
                    + "or val/<wnid>/*.JPEG (check TEST.SPLIT)");
        }
        List<Sample> val = new ArrayList<>();
        List<Path> classDirs = directories(fs, valDir);
        if (!classDirs.isEmpty()) {
            for (Path classDir : classDirs) {
                Integer label = labels.get(classDir.getName());
                for (Path image : images(fs, classDir)) {
                    if (label == null) {
                        unlabeled.add(image + ": class " + classDir.getName() + " is not among the training classes");
                    } else {
                        val.add(new Sample(key(image), image.toString(), label));
                    }
                }
            }
            return val;
        }
        Map<String, String> solution = readSolution(fs, root, valDir);
        for (Path image : images(fs, valDir)) {
            String wnid = solution.get(key(image));
            Integer label = wnid == null ? null : labels.get(wnid);
            if (label == null) {
                unlabeled.add(image + (wnid == null ? ": not in " + VAL_SOLUTION : ": class " + wnid + " is not among the training classes"));
            } else {
                val.add(new Sample(key(image), image.toString(), label));
            }
        }
        return val;
    }

    /** ImageId → wnid from Kaggle's LOC_val_solution.csv (first wnid of PredictionString). */
    private static Map<String, String> readSolution(FileSystem fs, Path root, Path valDir) throws IOException {
        for (Path candidate : new Path[] {new Path(root, VAL_SOLUTION), new Path(valDir, VAL_SOLUTION)}) {
            if (!fs.exists(candidate)) {
                continue;
            }
            Map<String, String> solution = new HashMap<>();
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(fs.open(candidate), StandardCharsets.UTF_8))) {
                String line = reader.readLine(); // header: ImageId,PredictionString
                while ((line = reader.readLine()) != null) {
                    String[] fields = line.split(",", 2);
                    if (fields.length == 2 && !fields[1].isBlank()) {
                        solution.put(fields[0].trim(), fields[1].trim().split("\\s+")[0]);
                    }
                }
            }
            return solution;
        }
        throw new DatasetException("validation images in " + valDir + " have no labels: expected " + VAL_SOLUTION
                + " in " + root + " (Kaggle layout) or val/<wnid>/ class folders");
    }

    private static List<Path> directories(FileSystem fs, Path dir) throws IOException {
        return Arrays.stream(list(fs, dir)).filter(FileStatus::isDirectory).map(FileStatus::getPath)
                .filter(p -> !p.getName().startsWith(".") && !p.getName().startsWith("_"))
                .sorted(Comparator.comparing(Path::getName)).toList();
    }

    private static List<Path> images(FileSystem fs, Path dir) throws IOException {
        return Arrays.stream(list(fs, dir)).filter(FileStatus::isFile).map(FileStatus::getPath)
                .filter(p -> isImageName(p.getName())).sorted(Comparator.comparing(Path::getName)).toList();
    }

    private static FileStatus[] list(FileSystem fs, Path dir) throws IOException {
        try {
            return fs.listStatus(dir);
        } catch (FileNotFoundException e) {
            return new FileStatus[0];
        }
    }

    static boolean isImageName(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.endsWith(".jpeg") || lower.endsWith(".jpg") || lower.endsWith(".png");
    }

    static String key(Path image) {
        String name = image.getName();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
