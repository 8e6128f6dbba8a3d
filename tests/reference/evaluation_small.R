## Reference values from R for tests/evaluate/test_discrimination.py on small synthetic data with ties.
## Usage (from the project root):  Rscript tests/reference/evaluation_small.R tests/reference/evaluation_small.json
## Computed with R 4.2.2, pROC 1.18.0, jsonlite (Debian packages). R is not a dependency of the project:
## the JSON is committed, and this script documents how each number was obtained.
## Numbers are written with 15 significant digits (jsonlite digits = NA). The data sets are generated here (set.seed) and written into the JSON, so Python reads the same data.
suppressPackageStartupMessages({ library(pROC); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
OUT <- if (length(args) >= 1) args[1] else "tests/reference/evaluation_small.json"

## Same computation as ResourceSelection::hoslem.test (copied from ../shared/reference/r_full_data.R)
hoslem_hand <- function(obs, yhat, g = 10) {
  qq <- unique(quantile(yhat, probs = seq(0, 1, 1 / g)))   # type 7 quantiles
  cuty <- cut(yhat, breaks = qq, include.lowest = TRUE)
  observed <- xtabs(cbind(y0 = 1 - obs, y1 = obs) ~ cuty)
  expected <- xtabs(cbind(yhat0 = 1 - yhat, yhat1 = yhat) ~ cuty)
  chisq <- sum((observed - expected)^2 / expected)
  df <- g - 2
  list(chisq = chisq, chisq_is_nan = is.nan(chisq), df = df,
       p_value = pchisq(chisq, df, lower.tail = FALSE),
       breaks = unname(qq), n_groups = nlevels(cuty),
       n = as.vector(table(cuty)),
       obs0 = unname(observed[, 1]), obs1 = unname(observed[, 2]),
       exp0 = unname(expected[, 1]), exp1 = unname(expected[, 2]))
}

## KS exactly as r_full_data.R section 4: max over thresholds t (predict 1 if p >= t) of TPR - FPR
ks_hand <- function(y, p) {
  n1 <- sum(y == 1); n0 <- sum(y == 0)
  ut <- sort(unique(p), decreasing = TRUE)
  p1 <- sort(p[y == 1]); p0 <- sort(p[y == 0])
  tpr <- (n1 - findInterval(ut, p1, left.open = TRUE)) / n1
  fpr <- (n0 - findInterval(ut, p0, left.open = TRUE)) / n0
  d <- tpr - fpr
  i <- which.max(d)
  list(statistic = d[i], threshold = ut[i], tpr = tpr[i], fpr = fpr[i],
       ks_test_D = unname(suppressWarnings(ks.test(p[y == 1], p[y == 0]))$statistic))
}

roc_block <- function(y, p) {
  r <- pROC::roc(response = y, predictor = p, levels = c(0, 1), direction = "<", quiet = TRUE)
  ci <- suppressWarnings(pROC::ci.auc(r, method = "delong", conf.level = 0.95))
  ci90 <- suppressWarnings(pROC::ci.auc(r, method = "delong", conf.level = 0.90))
  list(auc = as.numeric(pROC::auc(r)), var_delong = suppressWarnings(pROC::var(r, method = "delong")),
       ci95 = c(ci[1], ci[3]), ci90 = c(ci90[1], ci90[3]))
}

one <- function(y, p, hl_groups = c(10)) {
  out <- list(y = y, p = p, roc = roc_block(y, p), ks = ks_hand(y, p))
  out$hoslem <- lapply(hl_groups, function(g) c(list(g = g), hoslem_hand(y, p, g)))
  out
}

set.seed(20240601)
## A: 60 rows, p on a 0.1 grid -> heavy ties, and duplicated quantile breaks
pA <- round(runif(60, 0.05, 0.95), 1)
yA <- rbinom(60, 1, pA)
## B: 300 rows, p rounded to 3 decimals -> some ties, interpolated breaks
pB <- round(plogis(rnorm(300, -1, 1.2)), 3)
yB <- rbinom(300, 1, pB)
## C: 8 rows, nearly separated -> the DeLong CI is clipped at 1
pC <- c(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
yC <- c(0, 0, 0, 1, 0, 1, 1, 1)
## D: 4 rows -> two quantile breaks fall in one gap: an empty Hosmer-Lemeshow group, chisq NaN in R
pD <- c(0.1, 0.2, 0.9, 0.95)
yD <- c(0, 1, 0, 1)
## E: 90 rows, one value of p held by a third of the rows -> duplicated breaks dropped by unique(), fewer groups
pE <- c(rep(0.2, 30), round(runif(60, 0.25, 0.9), 3))
yE <- rbinom(90, 1, pE)

res <- list(
  provenance = list(script = "tests/reference/evaluation_small.R", R = R.version.string,
                    pROC = as.character(packageVersion("pROC")), jsonlite = as.character(packageVersion("jsonlite")),
                    seed = 20240601),
  A = one(yA, pA, c(10, 4)),
  B = one(yB, pB, c(10, 5)),
  C = one(yC, pC, c(10)),
  E = one(yE, pE, c(10, 6)),
  D = list(y = yD, p = pD, hoslem = list(c(list(g = 10), hoslem_hand(yD, pD, 10))))
)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), OUT)
