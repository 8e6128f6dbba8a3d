## Export carData::TitanicSurvival to tests/data/public/titanic.csv (a public test fixture).
##
## Usage (from the repository root; R is not a dependency of the project, this was run once offline):
##   Rscript tests/reference/r/titanic_data.R
## Output: tests/data/public/titanic.csv (only if it does not exist yet) and
##         tests/reference/r/titanic_data.json (provenance, md5/sha256 of the CSV, column classes, factor
##         levels in R's order, and whether the CSV reads back to the identical values).
##
## carData::TitanicSurvival: 1,309 passengers of the Titanic, columns survived ("no"/"yes"), sex
## ("female"/"male"), age (years; fractional below 1 year, x.5 for estimated ages; 263 NA) and
## passengerClass ("1st"/"2nd"/"3rd"); the row names are the passengers' names (not exported).
## The CSV has an integer `id` first = the row number in carData::TitanicSurvival (1..1309), then the four
## columns in the package's order: id,survived,sex,age,passengerClass. Written by
##   write.csv(data.frame(id = seq_len(nrow(d)), d, row.names = NULL), path, row.names = FALSE,
##             na = "", fileEncoding = "UTF-8")
## i.e. UTF-8, LF endings, labels in double quotes, missing ages as empty cells, ages with write.csv's 15
## significant digits (every age in the package has at most 4 decimals, e.g. 0.9167, so it is exact).

suppressPackageStartupMessages({
  library(jsonlite)
  library(carData)
})
OUT <- "tests/data/public/titanic.csv"
d <- carData::TitanicSurvival
x <- data.frame(id = seq_len(nrow(d)), d, row.names = NULL)
cmd <- paste0('write.csv(data.frame(id = seq_len(nrow(carData::TitanicSurvival)), carData::TitanicSurvival, ',
              'row.names = NULL), "', OUT, '", row.names = FALSE, na = "", fileEncoding = "UTF-8")')
existed <- file.exists(OUT)
if (!existed) write.csv(x, OUT, row.names = FALSE, na = "", fileEncoding = "UTF-8")

## read back and compare with the package object
r <- read.csv(OUT, stringsAsFactors = FALSE, na.strings = "", fileEncoding = "UTF-8")
cmp <- list(
  names = identical(names(r), names(x)),
  rows = nrow(r) == nrow(x),
  id = identical(r$id, x$id),
  survived = identical(r$survived, as.character(x$survived)),
  sex = identical(r$sex, as.character(x$sex)),
  passengerClass = identical(r$passengerClass, as.character(x$passengerClass)),
  age_na_same = identical(is.na(r$age), is.na(x$age)),
  age_identical = identical(r$age, x$age),
  age_max_abs_diff = max(abs(r$age - x$age), na.rm = TRUE)
)
print(str(cmp))
stopifnot(all(unlist(cmp[c("names", "rows", "id", "survived", "sex", "passengerClass", "age_na_same",
                           "age_identical")])))
ages <- x$age[!is.na(x$age)]

prov <- list(
  script = "tests/reference/r/titanic_data.R",
  command = "Rscript tests/reference/r/titanic_data.R",
  R = R.version.string,
  packages = lapply(c(carData = "carData", jsonlite = "jsonlite", digest = "digest"),
                    function(p) as.character(packageVersion(p))),
  date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z")
)
info <- list(
  file = OUT,
  source = "carData::TitanicSurvival",
  package_version = as.character(packageVersion("carData")),
  package_license = packageDescription("carData")$License,
  export_command = cmd,
  existed_before = existed,
  rows = nrow(x), columns = ncol(x),
  column_order = names(x),
  column_class = lapply(x, function(v) class(v)),
  factor_levels_in_R_order = lapply(Filter(is.factor, x), levels),
  id = "row number in carData::TitanicSurvival (1..1309); the row names (passenger names) are not exported",
  missing_per_column = lapply(x, function(v) sum(is.na(v))),
  missing_written_as = "empty cell (na = \"\")",
  complete_cases = sum(complete.cases(x)),
  level_counts = lapply(Filter(is.factor, x), function(v) as.list(table(v))),
  n_distinct_ages = length(unique(ages)),
  fractional_ages = sort(unique(ages[ages != round(ages)])),
  md5 = unname(tools::md5sum(OUT)),
  sha256 = digest::digest(file = OUT, algo = "sha256"),
  csv_vs_package = cmp
)
writeLines(toJSON(list(provenance = prov, dataset = info), digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/r/titanic_data.json")
cat("titanic.csv", if (existed) "(existed, compared)" else "(written)", "\n")
