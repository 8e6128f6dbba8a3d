## Reference values from R for the missing-value tables (analysis/evaluate/missing.py) on the Titanic data
## (tests/data/public/titanic.csv, exported from carData::TitanicSurvival by tests/reference/r/titanic_data.R;
## 263 of 1,309 ages missing, no other column has a missing value).
##
## Usage (from the repository root; R is not a dependency of the project, this was run once offline):
##   Rscript tests/reference/r/missing.R
## Input:  tests/data/public/titanic.csv
## Output: tests/reference/r/missing.json
##
## Sections
##  all:   the 1,309 rows. Missingness of age by survival: the 2 x 2 table, chisq.test(correct = FALSE)
##         (every expected count >= 5); the rows with and without an age compared on survival, sex and
##         passengerClass (shares) with standardized differences (p1 - p0) / sqrt((p1 (1 - p1) + p0 (1 - p0)) / 2)
##  first_100: the rows with id 1..100 (9 ages missing): an expected count below 5, so fisher.test (two-sided)
##         beside chisq.test(correct = FALSE) for comparison
## The complete-case glm (na.action = na.omit) is in tests/reference/r/titanic.json, section a_complete_cases.

suppressPackageStartupMessages(library(jsonlite))
CSV <- "tests/data/public/titanic.csv"
OUTFILE <- "tests/reference/r/missing.json"

raw <- read.csv(CSV, stringsAsFactors = FALSE, na.strings = "", fileEncoding = "UTF-8")
stopifnot(sum(is.na(raw$age)) == 263, !anyNA(raw[c("id", "survived", "sex", "passengerClass")]))

std_share <- function(p1, p0) (p1 - p0) / sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)

section <- function(d) {
  miss <- is.na(d$age)
  tab <- table(missing = factor(miss, levels = c(TRUE, FALSE)), survived = factor(d$survived, levels = c("yes", "no")))
  chi <- suppressWarnings(chisq.test(tab, correct = FALSE))
  fis <- fisher.test(tab)
  shares <- list()
  add <- function(variable, level, x) {
    p1 <- mean(x[miss]); p0 <- mean(x[!miss])
    shares[[length(shares) + 1]] <<- list(variable = variable, level = level, excluded = p1, kept = p0,
                                          n_excluded = sum(miss), n_kept = sum(!miss),
                                          std_difference = std_share(p1, p0))
  }
  add("survived", "yes", d$survived == "yes")
  add("sex", "female", d$sex == "female")
  for (cl in sort(unique(d$passengerClass))) add("passengerClass", cl, d$passengerClass == cl)
  list(n_rows = nrow(d), rows_missing = sum(miss), events_missing = sum(miss & d$survived == "yes"),
       events_observed = sum(!miss & d$survived == "yes"),
       table = list(rows = c("age missing", "age observed"), cols = c("survived yes", "survived no"),
                    counts = unname(matrix(tab, 2))),
       expected = unname(chi$expected), min_expected = min(chi$expected),
       chisq = list(call = "chisq.test(table(is.na(age), survived), correct = FALSE)",
                    statistic = unname(chi$statistic), df = unname(chi$parameter), p_value = chi$p.value),
       fisher = list(call = "fisher.test(table(is.na(age), survived))", p_value = fis$p.value,
                     odds_ratio_conditional_mle = unname(fis$estimate)),
       shares = shares)
}

res <- list(
  provenance = list(script = "tests/reference/r/missing.R", command = "Rscript tests/reference/r/missing.R",
                    R = R.version.string, date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
                    data_file = CSV, data_md5 = unname(tools::md5sum(CSV))),
  all = section(raw),
  first_100 = section(raw[raw$id <= 100, ]))
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), OUTFILE)
str(res$all[c("rows_missing", "chisq", "fisher")]); str(res$first_100[c("rows_missing", "min_expected", "fisher")])
