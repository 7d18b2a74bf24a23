package ai.emaspark.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * What the prepare job reads, as ImageNet is usually found on HDFS: {@code train/<wnid>/*.JPEG}
 * and/or the original per-class tars {@code train/<wnid>.tar}; validation as {@code val/<wnid>/} or
 * flat {@code val/ILSVRC2012_val_*.JPEG} labelled by Kaggle's {@code LOC_val_solution.csv} or by the
 * devkit's {@code ILSVRC2012_validation_ground_truth.txt} with its {@code meta.mat}. The driver lists
 * folders only (a thousand names); the files inside are listed by the tasks, except the flat
 * validation folder, whose names it needs to attach labels.
 */
public final class ImageNetSources {
    public static final String VAL_SOLUTION = "LOC_val_solution.csv";
    public static final String GROUND_TRUTH = "ILSVRC2012_validation_ground_truth.txt";
    static final String DEVKIT_DATA = "ILSVRC2012_devkit_t12/data";
    /** Flat validation files per task. */
    static final int FILES_PER_UNIT = 1000;

    private final List<String> classes;
    private final Map<String, String> classNames;
    private final List<SourceUnit> train;
    private final List<SourceUnit> val;
    private final List<String> unlabeled;

    private ImageNetSources(List<String> classes, Map<String, String> classNames, List<SourceUnit> train,
            List<SourceUnit> val, List<String> unlabeled) {
        this.classes = classes;
        this.classNames = classNames;
        this.train = train;
        this.val = val;
        this.unlabeled = unlabeled;
    }

    public static ImageNetSources scan(FileSystem fs, Path root) throws IOException {
        if (!fs.exists(root)) {
            throw new DatasetException("source path " + root + " does not exist: check --src");
        }
        Path trainDir = new Path(root, "train");
        if (!fs.exists(trainDir)) {
            throw new DatasetException("no train/ folder in " + root + ": expected train/<wnid>/*.JPEG or train/<wnid>.tar");
        }
        List<SourceUnit> train = new ArrayList<>();
        TreeSet<String> wnids = new TreeSet<>();
        for (FileStatus status : sorted(fs.listStatus(trainDir))) {
            String name = status.getPath().getName();
            if (status.isDirectory() && !name.startsWith(".") && !name.startsWith("_")) {
                train.add(SourceUnit.classDir("train", status.getPath().toString(), name));
                wnids.add(name);
            } else if (status.isFile() && name.toLowerCase(Locale.ROOT).endsWith(".tar")) {
                String wnid = name.substring(0, name.length() - 4);
                train.add(SourceUnit.classTar("train", status.getPath().toString(), wnid));
                wnids.add(wnid);
            }
        }
        if (train.isEmpty()) {
            throw new DatasetException("no class folders or tars in " + trainDir + ": expected train/<wnid>/*.JPEG or train/<wnid>.tar");
        }
        List<String> classes = List.copyOf(wnids);
        List<String> unlabeled = new ArrayList<>();
        List<SourceUnit> val = scanVal(fs, root, unlabeled);
        return new ImageNetSources(classes, readNames(fs, root), train, val, unlabeled);
    }

    private static List<SourceUnit> scanVal(FileSystem fs, Path root, List<String> unlabeled) throws IOException {
        Path valDir = new Path(root, "val");
        if (!fs.exists(valDir)) {
            return List.of();
        }
        List<SourceUnit> units = new ArrayList<>();
        List<String> files = new ArrayList<>();
        for (FileStatus status : sorted(fs.listStatus(valDir))) {
            if (status.isDirectory()) {
                units.add(SourceUnit.classDir("val", status.getPath().toString(), status.getPath().getName()));
            } else if (isImageName(status.getPath().getName())) {
                files.add(status.getPath().toString());
            }
        }
        if (files.isEmpty()) {
            return units;
        }
        Map<String, String> solution = readSolution(fs, root, valDir);
        List<String> labelled = new ArrayList<>();
        List<String> labelledWnids = new ArrayList<>();
        for (String file : files) {
            String wnid = solution.get(key(new Path(file)));
            if (wnid == null) {
                unlabeled.add(file);
            } else {
                labelled.add(file);
                labelledWnids.add(wnid);
            }
        }
        for (int start = 0; start < labelled.size(); start += FILES_PER_UNIT) {
            int end = Math.min(labelled.size(), start + FILES_PER_UNIT);
            units.add(SourceUnit.files("val", labelled.subList(start, end), labelledWnids.subList(start, end)));
        }
        return units;
    }

    /** ImageId → wnid: Kaggle's LOC_val_solution.csv, else the devkit's ground truth + meta.mat. */
    private static Map<String, String> readSolution(FileSystem fs, Path root, Path valDir) throws IOException {
        for (Path candidate : new Path[] {new Path(root, VAL_SOLUTION), new Path(valDir, VAL_SOLUTION)}) {
            if (fs.exists(candidate)) {
                return readKaggleSolution(fs, candidate);
            }
        }
        Path truth = firstExisting(fs, new Path(root, GROUND_TRUTH), new Path(root, DEVKIT_DATA + "/" + GROUND_TRUTH));
        Path meta = firstExisting(fs, new Path(root, "meta.mat"), new Path(root, DEVKIT_DATA + "/meta.mat"));
        if (truth != null && meta != null) {
            return readDevkitSolution(fs, truth, meta);
        }
        throw new DatasetException("the flat validation images in " + valDir + " have no labels: expected "
                + VAL_SOLUTION + " (Kaggle layout), or " + GROUND_TRUTH + " and meta.mat from the devkit ("
                + DEVKIT_DATA + "/), in " + root + "; or val/<wnid>/ folders");
    }

    private static Map<String, String> readKaggleSolution(FileSystem fs, Path file) throws IOException {
        Map<String, String> solution = new LinkedHashMap<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
            reader.readLine(); // ImageId,PredictionString
            String line;
            while ((line = reader.readLine()) != null) {
                String[] fields = line.split(",", 2);
                if (fields.length == 2 && !fields[1].isBlank()) {
                    solution.put(fields[0].trim(), fields[1].trim().split("\\s+")[0]);
                }
            }
        }
        return solution;
    }

    /** Line i of the ground truth is the ILSVRC2012_ID of ILSVRC2012_val_0000000i; meta.mat maps IDs to wnids. */
    private static Map<String, String> readDevkitSolution(FileSystem fs, Path truth, Path meta) throws IOException {
        Map<Integer, String> wnids;
        try (java.io.InputStream in = fs.open(meta)) {
            wnids = DevkitMeta.idToWnid(in.readAllBytes());
        }
        Map<String, String> solution = new LinkedHashMap<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(fs.open(truth), StandardCharsets.UTF_8))) {
            String line;
            int index = 0;
            while ((line = reader.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                index++;
                String wnid = wnids.get(Integer.parseInt(line.trim()));
                if (wnid == null) {
                    throw new DatasetException(truth + " line " + index + ": ILSVRC2012_ID " + line.trim() + " is not in " + meta);
                }
                solution.put(String.format("ILSVRC2012_val_%08d", index), wnid);
            }
        }
        return solution;
    }

    private static Path firstExisting(FileSystem fs, Path... candidates) throws IOException {
        for (Path candidate : candidates) {
            if (fs.exists(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** wnid → human-readable names from LOC_synset_mapping.txt, when present. */
    private static Map<String, String> readNames(FileSystem fs, Path root) throws IOException {
        Map<String, String> names = new LinkedHashMap<>();
        Path mapping = new Path(root, "LOC_synset_mapping.txt");
        if (fs.exists(mapping)) {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(fs.open(mapping), StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    int space = line.indexOf(' ');
                    if (space > 0) {
                        names.put(line.substring(0, space), line.substring(space + 1).trim());
                    }
                }
            }
        }
        return names;
    }

    static boolean isImageName(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.endsWith(".jpeg") || lower.endsWith(".jpg") || lower.endsWith(".png");
    }

    /** ImageNet's key of an image: its file name without the extension. */
    static String key(Path image) {
        String name = image.getName();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    private static List<FileStatus> sorted(FileStatus[] statuses) {
        List<FileStatus> list = new ArrayList<>(List.of(statuses));
        list.sort(Comparator.comparing(s -> s.getPath().getName()));
        return list;
    }

    public List<String> classes() {
        return classes;
    }

    public Map<String, String> classNames() {
        return classNames;
    }

    public List<SourceUnit> train() {
        return train;
    }

    public List<SourceUnit> val() {
        return val;
    }

    /** Flat validation files without a label in the solution file. */
    public List<String> unlabeled() {
        return unlabeled;
    }
}
