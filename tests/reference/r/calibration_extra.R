## Extra calibration reference values: R's lowess on data with TIES in x (as every pattern table and
## every grid of predicted probabilities has), and the recalibration fits on pattern (grouped) data, on
## data with p exactly 0 and 1 (clipped), and the Wald test of slope = 1 on birthwt.
##
## Usage (from the repository root; R is not a dependency of the project, this was run once offline):
##   Rscript tests/reference/r/calibration_extra.R
## Input:  tests/reference/r/public_calibration.json (birthwt p, y; made by public_calibration.R)
## Output: tests/reference/r/calibration_extra.json
##
## All data below are made here with R's RNG (set.seed) and written to the JSON, so the Python tests read
## the same numbers and need no R. The lowess x values are stored as integers k with x = k / den (den in
## the JSON): a quotient of two integers is the same double in R and in Python (IEEE division is correctly
## rounded), whereas a 15-digit decimal may not be (0.30000000000000004 prints as 0.3). x is passed to
## lowess in the stored order; lowess sorts it with order() (stable), so tied rows keep the stored order. Every lowess call is recorded with its arguments
## (f, iter, delta; delta "default" = R's 0.01 * diff(range(x))) and its output x (sorted) and y.

suppressPackageStartupMessages({
  library(jsonlite)
})
OUTFILE <- "tests/reference/r/calibration_extra.json"
CTRL <- glm.control(epsilon = 1e-15, maxit = 100)

lowess_runs <- function(x, y, settings) {
  stopifnot(all(y %in% c(0, 1)))
  lapply(settings, function(s) {
    args <- list(x = x, y = y, f = s$f, iter = s$iter)
    if (!identical(s$delta, "default")) args$delta <- s$delta
    out <- do.call(lowess, args)
    list(f = s$f, iter = s$iter, delta = s$delta,
         delta_used = if (identical(s$delta, "default")) 0.01 * diff(range(x)) else s$delta,
         x = out$x, y = out$y)
  })
}
S <- function(f, iter, delta = "default") list(f = f, iter = iter, delta = delta)
standard <- list(S(2 / 3, 0), S(2 / 3, 3), S(2 / 3, 0, 0), S(0.3, 0), S(0.3, 3, 0), S(0.1, 0, 0))

cases <- list()

## 1. p rounded to 2 decimals: many small tie groups
set.seed(20240601)
k <- round(runif(300, 2, 90))
x <- k / 100
y <- rbinom(300, 1, x)
cases$rounded <- list(description = "x = round(runif(300, 2, 90)) / 100; y = rbinom(300, 1, x); set.seed(20240601)",
                      k = k, den = 100, y = y, runs = lowess_runs(x, y, standard))

## 2. few distinct values with many rows each (a pattern table expanded), rows shuffled
set.seed(7)
values <- round(1e6 * plogis(seq(-2, 1.5, length.out = 7)))
counts <- c(40L, 3L, 25L, 60L, 1L, 30L, 15L)
k <- rep(values, counts)
x <- k / 1e6
y <- rbinom(length(x), 1, x)
o <- sample(length(x))
k <- k[o]
x <- x[o]
y <- y[o]
cases$few_patterns <- list(description = "7 distinct p = round(1e6 * plogis(seq(-2, 1.5, length.out = 7))) / 1e6 with 40, 3, 25, 60, 1, 30, 15 rows; y = rbinom(., 1, p); rows shuffled; set.seed(7)",
                           k = k, den = 1e6, y = y,
                           runs = lowess_runs(x, y, c(standard, list(S(0.9, 0), S(0.02, 0, 0), S(0.05, 2)))))

## 3. a decimal grid: window midpoints fall exactly on grid values (floating-point rounding of distances)
set.seed(11)
k <- rep(1:9, times = c(5L, 12L, 7L, 9L, 20L, 4L, 11L, 6L, 8L))
x <- k / 10
y <- rbinom(length(x), 1, x)
o <- sample(length(x))
k <- k[o]
x <- x[o]
y <- y[o]
cases$decimal_grid <- list(description = "x = rep(1:9, times = c(5, 12, 7, 9, 20, 4, 11, 6, 8)) / 10; y = rbinom(., 1, x); shuffled; set.seed(11)",
                           k = k, den = 10, y = y, runs = lowess_runs(x, y, standard))

## 4. no ties (400 distinct x): where statsmodels' lowess is closest to R's
set.seed(13)
k <- sample(20000:900000, 400)
x <- k / 1e6
y <- rbinom(400, 1, x)
cases$no_ties <- list(description = "x = sample(20000:900000, 400) / 1e6 (distinct); y = rbinom(400, 1, x); set.seed(13)",
                      k = k, den = 1e6, y = y, runs = lowess_runs(x, y, standard))

## 5. continuous x, one event: the robustness scale 6 * median |residual| is 0, R stops iterating
k <- 1:50
x <- k / 100
y <- integer(50)
y[40] <- 1L
cases$one_event <- list(description = "x = (1:50) / 100; y = 0 except y[40] = 1",
                        k = k, den = 100, y = y, runs = lowess_runs(x, y, list(S(2 / 3, 3), S(0.3, 3, 0))))

## 6. tiny inputs
cases$two_rows <- list(description = "two rows", k = c(2L, 7L), den = 10, y = c(1L, 0L),
                       runs = lowess_runs(c(2, 7) / 10, c(1L, 0L), list(S(2 / 3, 0), S(2 / 3, 3))))
cases$all_tied <- list(description = "five rows at one value", k = rep(3L, 5), den = 10, y = c(1L, 0L, 0L, 1L, 0L),
                       runs = lowess_runs(rep(3, 5) / 10, c(1L, 0L, 0L, 1L, 0L), list(S(2 / 3, 0), S(2 / 3, 3))))

## ------------------------------------------------------------------ recalibration fits
fits <- function(lp, events, trials, level = 0.95) {
  resp <- cbind(events, trials - events)
  one <- function(g, ideal) {
    s <- summary(g)$coefficients
    ci <- confint.default(g, level = level)
    z_ideal <- (unname(s[, 1]) - ideal) / unname(s[, 2])
    list(term = rownames(s), estimate = unname(s[, 1]), std_error = unname(s[, 2]),
         ci_lower = unname(ci[, 1]), ci_upper = unname(ci[, 2]), ideal = ideal,
         z_ideal = z_ideal, p_value_ideal = 2 * pnorm(-abs(z_ideal)), converged = g$converged)
  }
  recal <- glm(resp ~ lp, family = binomial, control = CTRL)
  citl <- glm(resp ~ offset(lp), family = binomial, control = CTRL)
  list(level = level, logistic = one(recal, c(0, 1)), offset = one(citl, 0))
}

bw <- fromJSON("tests/reference/r/public_calibration.json")
recal <- list()
recal$birthwt <- c(list(description = "birthwt even rows (public_calibration.json p, y), rows; Wald tests of intercept = 0, slope = 1, citl = 0"),
                   fits(qlogis(bw$p), bw$y, rep(1L, length(bw$y))))
recal$birthwt_90 <- c(list(description = "as birthwt, level = 0.90"),
                      fits(qlogis(bw$p), bw$y, rep(1L, length(bw$y)), level = 0.90))

set.seed(3)
pp <- c(0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.92)
tr <- c(30L, 12L, 45L, 8L, 20L, 17L, 25L, 9L)
ev <- rbinom(length(pp), tr, pmin(1, pp * 1.2))
recal$patterns <- c(list(description = "8 patterns: p, events = rbinom(trials, min(1, 1.2 p)), trials; glm(cbind(events, trials - events) ~ ...); set.seed(3)",
                         p = pp, events = ev, trials = tr),
                    fits(qlogis(pp), ev, tr))

set.seed(5)
pc <- c(0, 0, runif(40, 0.05, 0.95), 1, 1, 1)
yc <- c(0L, 0L, rbinom(40, 1, pc[3:42]), 1L, 1L, 0L)
## (glm warns "fitted probabilities numerically 0 or 1 occurred" for this case: expected, lp = +/-34.5)
clip <- function(p) pmin(pmax(p, 1e-15), 1 - 1e-15)
recal$clipped <- c(list(description = "p with two exact 0s and three exact 1s (one of them y = 0), clipped to [1e-15, 1 - 1e-15] before qlogis; set.seed(5)",
                        p = pc, y = yc),
                   fits(qlogis(clip(pc)), yc, rep(1L, length(yc))))

out <- list(
  provenance = list(
    script = "tests/reference/r/calibration_extra.R",
    command = "Rscript tests/reference/r/calibration_extra.R",
    R = R.version.string,
    packages = lapply(setNames(nm = c("stats", "jsonlite")), function(p) as.character(packageVersion(p))),
    date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
    glm_control = "glm.control(epsilon = 1e-15, maxit = 100)",
    json = "jsonlite::toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = \"null\"); 15 significant digits"
  ),
  lowess = cases,
  recalibration = recal
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), OUTFILE)
