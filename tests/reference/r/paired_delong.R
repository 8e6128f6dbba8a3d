## pROC's paired DeLong test on small data with ties, for tests/evaluate/test_paired_delong.py.
##
## Usage (from the repository root; R is not a dependency of the project, this was run once offline):
##   Rscript tests/reference/r/paired_delong.R
## Output: tests/reference/r/paired_delong.json (the data sets and pROC's results)
##
## Each case: y 0/1 and two score vectors p1, p2 on the same rows, with many ties (scores on a coarse grid,
## ties within and across the two outcome classes); roc(y, p, levels = c(0, 1), direction = "<") for each and
## roc.test(r1, r2, paired = TRUE, method = "delong"); var(roc, method = "delong") and
## cov(r1, r2, method = "delong"). Cases: "tied" (60 rows, scores in tenths), "coarse" (25 rows, scores in
## quarters: most pairs tied), "identical" (p2 = p1: difference 0, z 0 as pROC sets it), "reversed"
## (p2 = 1 - p1 on the "tied" rows: roc with direction "<" gives AUC_2 = 1 - AUC_1).
## Numbers: jsonlite::toJSON(digits = NA), 15 significant digits.

suppressPackageStartupMessages({
  library(jsonlite)
  library(pROC)
})
set.seed(20261206)
n <- 60
y <- rbinom(n, 1, 0.4)
p1 <- round(plogis(-0.5 + 1.2 * y + rnorm(n)), 1)
p2 <- round(plogis(-0.5 + 0.6 * y + rnorm(n)), 1)
m <- 25
yc <- rbinom(m, 1, 0.5)
q1 <- round(4 * plogis(0.8 * yc + rnorm(m, sd = 0.7))) / 4
q2 <- round(4 * plogis(0.3 * yc + rnorm(m, sd = 0.7))) / 4
cases <- list(tied = list(y = y, p1 = p1, p2 = p2), coarse = list(y = yc, p1 = q1, p2 = q2),
              identical = list(y = y, p1 = p1, p2 = p1), reversed = list(y = y, p1 = p1, p2 = 1 - p1))
res <- lapply(cases, function(cs) {
  r1 <- roc(cs$y, cs$p1, levels = c(0, 1), direction = "<", quiet = TRUE)
  r2 <- roc(cs$y, cs$p2, levels = c(0, 1), direction = "<", quiet = TRUE)
  rt <- roc.test(r1, r2, paired = TRUE, method = "delong")
  c(cs, list(auc_1 = as.numeric(auc(r1)), auc_2 = as.numeric(auc(r2)),
             var_1 = as.numeric(var(r1, method = "delong")), var_2 = as.numeric(var(r2, method = "delong")),
             covariance = as.numeric(cov(r1, r2, method = "delong")),
             z = unname(rt$statistic), p_value = rt$p.value, conf_int = as.numeric(rt$conf.int),
             n_distinct_p1 = length(unique(cs$p1)), n_distinct_p2 = length(unique(cs$p2))))
})
prov <- list(script = "tests/reference/r/paired_delong.R", command = "Rscript tests/reference/r/paired_delong.R",
             R = R.version.string, pROC = as.character(packageVersion("pROC")),
             jsonlite = as.character(packageVersion("jsonlite")), seed = 20261206,
             date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
             call = "roc.test(roc(y, p1, levels = c(0, 1), direction = \"<\"), roc(y, p2, levels = c(0, 1), direction = \"<\"), paired = TRUE, method = \"delong\")")
writeLines(toJSON(list(provenance = prov, cases = res), digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/r/paired_delong.json")
str(lapply(res, function(r) r[c("auc_1", "auc_2", "z", "p_value", "conf_int")]))
