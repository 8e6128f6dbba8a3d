## Export public example data sets from R packages to tests/data/public/*.csv.
##
## Usage (from the repository root; R is not a dependency of the project, this was run once offline):
##   Rscript tests/reference/r/public_data.R
## Output: tests/data/public/{birthwt,mroz,cowles,infert,pima_tr,asah}.csv and
##         tests/reference/r/public_data.json (provenance, shape, column types, factor levels in R's
##         order, md5 of each CSV, and whether the CSV reads back to the identical values).
##
## Each CSV is written by write.csv(d, path, row.names = FALSE, fileEncoding = "UTF-8") (LF endings on
## Linux): factors as their labels, integer codes as integers, doubles with write.csv's 15 significant
## digits. If birthwt.csv exists already (written by another script from the same source) it is
## compared with MASS::birthwt and left untouched.

suppressPackageStartupMessages({
  library(jsonlite)
  library(MASS)
  library(carData)
  library(pROC)
})
OUT <- "tests/data/public"
dir.create(OUT, showWarnings = FALSE, recursive = TRUE)

sets <- list(
  birthwt = list(pkg = "MASS", obj = "birthwt", data = MASS::birthwt),
  mroz = list(pkg = "carData", obj = "Mroz", data = carData::Mroz),
  cowles = list(pkg = "carData", obj = "Cowles", data = carData::Cowles),
  infert = list(pkg = "datasets", obj = "infert", data = datasets::infert),
  pima_tr = list(pkg = "MASS", obj = "Pima.tr", data = MASS::Pima.tr),
  asah = list(pkg = "pROC", obj = "aSAH", data = pROC::aSAH)
)

compare_csv <- function(d, path) {
  r <- read.csv(path, stringsAsFactors = FALSE, fileEncoding = "UTF-8")
  same_names <- identical(names(r), names(d)) && nrow(r) == nrow(d)
  diffs <- vapply(names(d), function(v) {
    x <- d[[v]]
    if (!same_names) return(NA_real_)
    if (is.factor(x)) return(if (identical(as.character(x), as.character(r[[v]]))) 0 else Inf)
    max(abs(as.numeric(x) - as.numeric(r[[v]])))
  }, numeric(1))
  list(same_names_and_rows = same_names, max_abs_diff = as.list(diffs),
       identical_values = same_names && all(diffs == 0))
}

info <- list()
for (nm in names(sets)) {
  s <- sets[[nm]]
  d <- s$data
  path <- file.path(OUT, paste0(nm, ".csv"))
  cmd <- sprintf('write.csv(%s::%s, "%s", row.names = FALSE, fileEncoding = "UTF-8")', s$pkg, s$obj, path)
  existed <- file.exists(path)
  if (!existed) write.csv(d, path, row.names = FALSE, fileEncoding = "UTF-8")
  cmp <- compare_csv(d, path)
  info[[nm]] <- list(
    file = path,
    source = paste0(s$pkg, "::", s$obj),
    package_version = as.character(packageVersion(s$pkg)),
    package_license = if (s$pkg == "datasets") paste("Part of R", getRversion()) else packageDescription(s$pkg)$License,
    export_command = cmd,
    existed_before = existed,
    rows = nrow(d), columns = ncol(d),
    column_class = lapply(d, function(x) class(x)),
    factor_levels_in_R_order = lapply(Filter(is.factor, d), levels),
    md5 = unname(tools::md5sum(path)),
    csv_vs_package = cmp
  )
  cat(nm, if (existed) "(existed, compared)" else "(written)", "identical:", cmp$identical_values, "\n")
}

prov <- list(
  script = "tests/reference/r/public_data.R",
  command = "Rscript tests/reference/r/public_data.R",
  R = R.version.string,
  packages = lapply(c(MASS = "MASS", carData = "carData", pROC = "pROC", jsonlite = "jsonlite"),
                    function(p) as.character(packageVersion(p))),
  date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z")
)
writeLines(toJSON(list(provenance = prov, datasets = info), digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/r/public_data.json")
