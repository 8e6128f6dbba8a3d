## Calibration reference values on birthwt (split by row position), computed with R and rms::val.prob.
##
## Usage (from the repository root; R is not a dependency of the project, this was run once offline):
##   Rscript tests/reference/r/public_calibration.R
## Input:  tests/data/public/birthwt.csv (= MASS::birthwt; see tests/reference/r/public_data.R)
## Output: tests/reference/r/public_calibration.json
##
## Training rows: odd row POSITIONS 1, 3, 5, ... of the CSV (= of MASS::birthwt in its stored order; its
## row names are 85, 86, ... and are not used). Test rows: even positions 2, 4, ...
## Model: glm(low ~ age + lwt + factor(race) + smoke + ptl + ht + ui + ftv, binomial,
##            control = glm.control(epsilon = 1e-15, maxit = 100)) on the training rows;
## p = predict(fit, newdata = test, type = "response"); y = test$low.
## Recorded: p, y; rms::val.prob(p, y, pl = FALSE); the recalibration fits glm(y ~ qlogis(p)) and
## glm(y ~ offset(qlogis(p))) with SEs and Wald 95% CIs (confint.default); which of them val.prob's
## Intercept/Slope equal; lowess(p, y, iter = 0) (the smooth val.prob uses for Emax/E90/Eavg and draws)
## and lowess(p, y) with R's defaults (f = 2/3, iter = 3, delta = 0.01 * diff(range(p))).

suppressPackageStartupMessages({
  library(jsonlite)
  library(rms)
})
OUTFILE <- "tests/reference/r/public_calibration.json"
CTRL <- glm.control(epsilon = 1e-15, maxit = 100)

bw <- read.csv("tests/data/public/birthwt.csv")
stopifnot(isTRUE(all.equal(bw, MASS::birthwt, check.attributes = FALSE)))
pos <- seq_len(nrow(bw))
train <- bw[pos %% 2 == 1, ]
test <- bw[pos %% 2 == 0, ]

fit <- glm(low ~ age + lwt + factor(race) + smoke + ptl + ht + ui + ftv, family = binomial, data = train,
           control = CTRL)
p <- unname(predict(fit, newdata = test, type = "response"))
y <- test$low

vp <- rms::val.prob(p, y, pl = FALSE)

coef_ci <- function(g) {
  s <- summary(g)$coefficients
  ci <- confint.default(g, level = 0.95)
  list(term = rownames(s), estimate = unname(s[, 1]), std_error = unname(s[, 2]), z = unname(s[, 3]),
       p_value = unname(s[, 4]), ci95_lower = unname(ci[, 1]), ci95_upper = unname(ci[, 2]),
       deviance = deviance(g), converged = g$converged)
}
lp <- qlogis(p)
recal <- glm(y ~ lp, family = binomial, control = CTRL)
citl <- glm(y ~ offset(lp), family = binomial, control = CTRL)

eq <- function(a, b) isTRUE(all.equal(unname(a), unname(b), tolerance = 1e-8))
which_equal <- list(
  val_prob_Intercept = vp[["Intercept"]],
  val_prob_Slope = vp[["Slope"]],
  Intercept_equals_recal_intercept = eq(vp[["Intercept"]], coef(recal)[1]),
  Slope_equals_recal_slope = eq(vp[["Slope"]], coef(recal)[2]),
  Intercept_equals_offset_intercept = eq(vp[["Intercept"]], coef(citl)[1]),
  abs_diff_Intercept_recal = abs(vp[["Intercept"]] - unname(coef(recal)[1])),
  abs_diff_Slope_recal = abs(vp[["Slope"]] - unname(coef(recal)[2])),
  explanation = "rms::val.prob's Intercept and Slope are both from the joint fit lrm.fit(qlogis(p), y) = glm(y ~ qlogis(p)); the calibration-in-the-large intercept of glm(y ~ offset(qlogis(p))) is a different number."
)

lw0 <- lowess(p, y, iter = 0)
lw <- lowess(p, y)
cal_smooth <- approx(lw0, xout = p, ties = mean)$y
fs <- summary(fit)$coefficients

out <- list(
  provenance = list(
    script = "tests/reference/r/public_calibration.R",
    command = "Rscript tests/reference/r/public_calibration.R",
    R = R.version.string,
    packages = lapply(setNames(nm = c("rms", "Hmisc", "MASS", "jsonlite", "stats")),
                      function(p) as.character(packageVersion(p))),
    date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
    glm_control = "glm.control(epsilon = 1e-15, maxit = 100)",
    json = "jsonlite::toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = \"null\"); 15 significant digits"
  ),
  data = list(csv = "tests/data/public/birthwt.csv", source = "MASS::birthwt",
              split = "train = odd row positions (1-based) 1, 3, ..., 189; test = even positions 2, ..., 188",
              train_positions = pos[pos %% 2 == 1], test_positions = pos[pos %% 2 == 0],
              n_train = nrow(train), n_test = nrow(test), events_train = sum(train$low), events_test = sum(y)),
  train_fit = list(formula = "low ~ age + lwt + factor(race) + smoke + ptl + ht + ui + ftv",
                   term = rownames(fs), estimate = unname(fs[, 1]), std_error = unname(fs[, 2]),
                   deviance = deviance(fit), converged = fit$converged),
  p = p,
  y = y,
  val_prob = list(call = "rms::val.prob(p, y, pl = FALSE)", stats = as.list(vp),
                  D_p_note = "D:p is NA in rms 6.5: val.prob takes it from stats['P'] of lrm.fit(qlogis(p), y, initial = c(0, 1), maxit = 1), which is NA there. pchisq(D:Chi-sq, 1, lower.tail = FALSE) is given as D_p_computed (computed here, not by rms).",
                  D_p_computed = pchisq(vp[["D:Chi-sq"]], 1, lower.tail = FALSE),
                  note = "Emax/E90/Eavg = max/0.9-quantile/mean of |p - approx(lowess(p, y, iter = 0), xout = p, ties = mean)$y|; D = (LR - 1)/n, U = (U.chisq - 2)/n, Q = D - U, Brier = mean((p - y)^2)"),
  recalibration = list(
    logistic = c(list(call = "glm(y ~ qlogis(p), family = binomial)"), coef_ci(recal)),
    offset = c(list(call = "glm(y ~ offset(qlogis(p)), family = binomial)"), coef_ci(citl)),
    which_equal = which_equal
  ),
  lowess_iter0 = list(call = "lowess(p, y, iter = 0)  # as rms::val.prob computes and draws it",
                      x = lw0$x, y = lw0$y, smooth_at_p = cal_smooth),
  lowess_default = list(call = "lowess(p, y)  # f = 2/3, iter = 3, delta = 0.01 * diff(range(p))",
                        f = 2 / 3, iter = 3, delta = 0.01 * diff(range(p)), x = lw$x, y = lw$y)
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), OUTFILE)
message("written ", OUTFILE)
print(vp)
str(which_equal)
